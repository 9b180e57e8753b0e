"""Settings, parsed and checked: nothing else, and below everything but bot/.

    settings = load_settings()                      # config/settings.py: the deployment's (and default business's)
    own = business_settings(settings, record, box)  # config/business_settings.py: a registered business's

config/declarations.py   every setting's name, default, scope and meaning (docs/settings.md is made from it)
config/settings.py       Settings and load_settings: each setting read, parsed and checked once
config/checks.py         the Twilio and PUBLIC_BASE_URL checks, and ConfigError
config/database_url.py   DATABASE_URL as a setting: its scheme, and the folder it keeps on this machine
config/generated_secrets.py  the secrets the service makes in its data folder
config/secret_box.py     businesses' Twilio secrets sealed under SECRET_KEY
config/business_settings.py  a registered business's Settings, from its record over the deployment's

What settings are used for lives with the code that uses them: the notifier and picture links
in handlers/services.py and sender/business_loops.py, picture origins where pictures are fetched.
Imports nothing of ours but bot/ (import-linter checks it): the qdn client reads settings here
without importing the store.
"""
