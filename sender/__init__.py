"""The sender: claims due texts from the store and sends them (sender/worker.py).

It runs inside `qdn serve` (unless RUN_SENDER=false) or alone as `qdn send`
(sender/__main__.py); the transports it sends through are in transports/.
"""
