import os
import subprocess
import sys
from pathlib import Path

import pytest

import store
from config import database_url
from config.settings import API_TOKEN_FILE, DEV_WEBHOOK_SECRET_FILE, ConfigError, load_settings
from tests.support import base_environ

TWILIO_FULL = {
    "TWILIO_ACCOUNT_SID": "AC" + "a" * 32,
    "TWILIO_AUTH_TOKEN": "authtoken123",
    "TWILIO_API_KEY": "SK" + "b" * 32,
    "TWILIO_API_SECRET": "apisecret",
    "TWILIO_FROM_NUMBER": "+15125550123",
}


def load(tmp_path, **overrides):
    return load_settings(base_environ(tmp_path, **overrides), env_file=None)


def test_defaults(tmp_path):
    env = base_environ(tmp_path)
    for name in ("PUBLIC_BASE_URL", "BUSINESS_NAME", "TIMEZONE", "DISPATCHER_NUMBERS"):
        env.pop(name)
    settings = load_settings(env, env_file=None)
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.business_name == "QuickDumpNow"
    assert str(settings.timezone) == "America/New_York"
    assert (settings.ack_interval_hours, settings.send_rate_per_second, settings.send_give_up_hours) == (3, 1, 24)
    assert settings.twilio_live is False
    assert settings.dispatcher_numbers == ()


def test_full_twilio_settings_are_live(tmp_path):
    settings = load(tmp_path, **TWILIO_FULL)
    assert settings.twilio_live
    assert str(settings.webhook_secret) == "authtoken123"
    assert "authtoken123" not in repr(settings)  # secrets never show in reprs or logs


def test_account_sid_and_auth_token_without_api_key_is_complete(tmp_path):
    env = {k: v for k, v in TWILIO_FULL.items() if k not in ("TWILIO_API_KEY", "TWILIO_API_SECRET")}
    assert load(tmp_path, **env).twilio_live


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("TWILIO_AUTH_TOKEN", "TWILIO_AUTH_TOKEN"),
        ("TWILIO_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"),
        ("TWILIO_API_SECRET", "TWILIO_API_KEY and TWILIO_API_SECRET"),
        ("TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER"),
    ],
)
def test_half_twilio_settings_stop_start_up_naming_what_is_missing(tmp_path, drop, named):
    env = {k: v for k, v in TWILIO_FULL.items() if k != drop}
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, **env)
    assert named in str(refused.value)
    assert "authtoken123" not in str(refused.value)


def test_api_base_url_alone_does_not_count_as_twilio(tmp_path):
    assert load(tmp_path, TWILIO_API_BASE_URL="http://127.0.0.1:9999").twilio_live is False


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"DISPATCHER_NUMBERS": "+15125550100, not-a-phone"}, "DISPATCHER_NUMBERS"),
        ({"TIMEZONE": "Mars/Olympus_Mons"}, "TIMEZONE"),
        ({"PORT": "eighty"}, "PORT"),
        ({"CORS_ORIGINS": "*"}, "CORS_ORIGINS"),
        ({"SEND_RATE_PER_SECOND": "0"}, "SEND_RATE_PER_SECOND"),
        ({"DATABASE_URL": "postgres://x"}, "DATABASE_URL"),  # no database named
        ({"DATABASE_URL": "postgresql://qdn@db:port/qdn"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql:///qdn", "DATA_DIR": "secrets"}, "DATABASE_URL"),  # no host
        ({"DATABASE_URL": "tinydb://host/qdn.json", "DATA_DIR": "secrets"}, "DATABASE_URL"),
    ],
)
def test_bad_settings_stop_start_up_naming_the_setting(tmp_path, monkeypatch, overrides, named):
    monkeypatch.chdir(tmp_path)  # ./data, should settings get as far as making secrets
    with pytest.raises(ConfigError, match=named):
        # A server's DATABASE_URL is checked in full by its backend, as `qdn serve` asks settings to.
        load_settings(base_environ(tmp_path, **overrides), env_file=None, check_database_url=store.backend_for)
    if named == "DATABASE_URL":
        assert not (tmp_path / "data").exists()  # refused before any secret was made


def test_dispatchers_are_normalised(tmp_path):
    settings = load(tmp_path, DISPATCHER_NUMBERS="(512) 555-0100, +1 737 555 0101")
    assert settings.dispatcher_numbers == ("+15125550100", "+17375550101")


def test_generated_api_token_is_made_once_and_kept_private(tmp_path):
    env = base_environ(tmp_path)
    env.pop("API_TOKEN")
    first = load_settings(env, env_file=None)
    token_file = tmp_path / "data/api_token"
    assert token_file.stat().st_mode & 0o077 == 0
    assert len(str(first.api_token)) >= 32
    assert str(load_settings(env, env_file=None).api_token) == str(first.api_token)


def test_dev_webhook_secret_is_per_installation(tmp_path):
    a = load_settings(base_environ(tmp_path / "a"), env_file=None)
    b = load_settings(base_environ(tmp_path / "b"), env_file=None)
    assert str(a.webhook_secret) != str(b.webhook_secret)
    assert str(load_settings(base_environ(tmp_path / "a"), env_file=None).webhook_secret) == str(a.webhook_secret)


def test_environment_wins_over_dot_env(tmp_path):
    dot_env = tmp_path / ".env"
    dot_env.write_text("BUSINESS_NAME=From File\nACK_INTERVAL_HOURS=5\n")
    env = base_environ(tmp_path, BUSINESS_NAME="From Env")
    settings = load_settings(env, env_file=dot_env)
    assert settings.business_name == "From Env"
    assert settings.ack_interval_hours == 5


def made_secrets(env):
    """Load settings with neither secret set, so both are generated; their values."""
    env = {k: v for k, v in env.items() if k != "API_TOKEN"}
    settings = load_settings(env, env_file=None)
    return settings, str(settings.api_token), str(settings.webhook_secret)


def test_generated_secrets_live_in_data_dir_when_it_is_set(tmp_path):
    settings, token, secret = made_secrets(base_environ(tmp_path, DATA_DIR=str(tmp_path / "secrets")))
    assert settings.data_folder == tmp_path / "secrets"
    assert (tmp_path / "secrets" / API_TOKEN_FILE).read_text().strip() == token
    assert (tmp_path / "secrets" / DEV_WEBHOOK_SECRET_FILE).read_text().strip() == secret
    assert not (tmp_path / "data" / API_TOKEN_FILE).exists()
    assert not (tmp_path / "data" / DEV_WEBHOOK_SECRET_FILE).exists()
    # and a client of the running service (the qdn command) reads them from there
    env = {k: v for k, v in base_environ(tmp_path, DATA_DIR=str(tmp_path / "secrets")).items() if k != "API_TOKEN"}
    client = load_settings(env, env_file=None, read_only=True)
    assert (str(client.api_token), str(client.webhook_secret)) == (token, secret)


def test_without_data_dir_generated_secrets_sit_beside_the_tinydb_file(tmp_path):
    store_file = tmp_path / "srv" / "qdn" / "qdn.json"
    settings, token, secret = made_secrets(base_environ(tmp_path, DATABASE_URL=f"tinydb:///{store_file}"))
    assert settings.data_folder == store_file.parent
    assert (store_file.parent / API_TOKEN_FILE).read_text().strip() == token
    assert (store_file.parent / DEV_WEBHOOK_SECRET_FILE).read_text().strip() == secret


class FolderlessScheme:
    """A DATABASE_URL scheme that keeps nothing on this machine (a database server's)."""

    def check_url(self, database_url: str) -> None:
        if "@" not in database_url:
            raise ValueError(f"DATABASE_URL {database_url!r} names no server")

    def data_folder(self, database_url: str) -> Path | None:
        return None


@pytest.mark.parametrize("data_dir", [None, "secrets"])
def test_a_backend_with_no_folder_here_keeps_secrets_in_data_dir_else_dot_data(tmp_path, monkeypatch, data_dir):
    monkeypatch.setitem(database_url.SCHEMES, "serverdb", FolderlessScheme())
    monkeypatch.chdir(tmp_path)
    env = base_environ(tmp_path, DATABASE_URL="serverdb://qdn@db.internal/qdn")
    if data_dir:
        env["DATA_DIR"] = data_dir
    settings, token, _ = made_secrets(env)
    folder = Path(data_dir or "data")
    assert settings.data_folder == folder
    assert (tmp_path / folder / API_TOKEN_FILE).read_text().strip() == token
    with pytest.raises(ConfigError, match="DATABASE_URL"):  # the scheme still checks its URL
        load(tmp_path, DATABASE_URL="serverdb://db.internal/qdn", DATA_DIR="secrets")


@pytest.mark.parametrize(
    "url", ["mysql://qdn:hunter22@db.example.com/qdn", "postgresql://qdn:hunter22@db.example.com:port/qdn"]
)
def test_a_refused_database_url_never_prints_its_password(tmp_path, url):
    with pytest.raises(ConfigError) as refused:
        # Settings refuse a scheme they do not know; the server URL's rest is its backend's to check.
        env = {"DATABASE_URL": url, "DATA_DIR": str(tmp_path)}
        load_settings(env, env_file=None, check_database_url=store.backend_for)
    assert "hunter22" not in str(refused.value) and "DATABASE_URL" in str(refused.value)


# -- who reads the settings ------------------------------------------------------------------

# Runs `qdn jobs list` in this interpreter (no service listens on PORT: it fails to connect), then
# prints which of the store's packages and drivers it loaded on the way.
CLIENT_RUN = """
import runpy, sys
try:
    runpy.run_module("web", run_name="__main__")
except SystemExit:
    pass
print(sorted(name for name in sys.modules if name.split(".")[0] in ("store", "tinydb", "asyncpg")))
"""


def test_the_qdn_client_reads_its_settings_without_loading_the_store(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PUBLIC_BASE_URL", "DATABASE_URL"))}
    env |= {"DATABASE_URL": f"tinydb:///{tmp_path}/data/qdn.json", "API_TOKEN": "a" * 32, "PORT": "9"}
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_RUN, "jobs", "list"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "qdn:" in done.stderr  # it got as far as asking the service (settings read, API token found)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout


@pytest.mark.parametrize("command", ["serve", "send", "migrate"])
def test_a_malformed_server_url_stops_each_process_command_with_one_line(tmp_path, command):
    # Settings check DATABASE_URL's scheme (config/database_url.py); a server URL's host, port and
    # database are its backend's to check, which these commands pick first.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "PUBLIC_BASE_URL", "DATABASE_URL"))}
    env |= {"DATABASE_URL": "postgresql://qdn:hunter22@db.internal:port/qdn", "API_TOKEN": "a" * 32, "PORT": "0"}
    done = subprocess.run(
        [sys.executable, "-m", "web", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("qdn: DATABASE_URL") and "hunter22" not in line
