"""The store's interface in roles, one module each, matching the contract suite's files (store_contract/).

A caller that needs one part of the store can name just that role; `store.base.Store` is their
union, which every backend implements. Each module says what its role keeps and how.
"""
