"""The pictures' work in the sender: fetch a text's pictures from Twilio and keep them (docs/pictures.md).

fetch.py     the fetcher loop: claims texts with pictures due, settles each row, one per business
download.py  the HTTP half: Twilio's hosts only, credentials, size and type checks
rows.py      the row's pure changes: claimed, settled, handed back
delete.py    Twilio's copy deleted once a picture is kept
"""
