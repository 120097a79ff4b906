"""The MQTT credentials file format: `username=` and `password=` lines."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.publish import CredentialsError, MqttCredentials, load_credentials


def _file(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "mqtt-credentials"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_reads_username_and_password_with_comments_blanks_and_equals_in_the_value(
    tmp_path: Path,
) -> None:
    path = _file(tmp_path, "# line 1 sealing\n\n username = line1-sealing \npassword=s3=cr=t\n")

    assert load_credentials(path) == MqttCredentials("line1-sealing", "s3=cr=t")


def test_reads_the_two_line_form_taking_the_password_exactly(tmp_path: Path) -> None:
    path = _file(tmp_path, "line1-sealing\n s3cret=# \n\n")

    assert load_credentials(path) == MqttCredentials("line1-sealing", " s3cret=# ")


def test_the_password_is_not_in_the_repr() -> None:
    assert "hunter2" not in repr(MqttCredentials("edge", "hunter2"))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("username=a\n", "{path}: missing 'password=' line"),
        ("just-one-line\n", "{path}: expected 'username=' and 'password=' lines, or exactly "
         "two lines (username, then password), got 1 line"),
        ("\nsecret\n", "{path}:1: username is empty"),
        ("password=b\n", "{path}: missing 'username=' line"),
        ("username=a\npassword=b\nuser=c\n", "{path}:3: unknown key 'user', expected "
         "'username' or 'password'"),
        ("username=a\nusername=b\npassword=c\n", "{path}:2: 'username' given twice"),
        ("username=a\nhunter2\n", "{path}:2: expected 'key=value', got a line of 7 characters"),
        ("username=\npassword=b\n", "{path}: username is empty"),
    ],
)  # fmt: skip
def test_format_errors_name_the_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    path = _file(tmp_path, text)

    with pytest.raises(CredentialsError) as caught:
        load_credentials(path)

    assert str(caught.value) == problem.format(path=path)


def test_a_missing_file_is_a_credentials_error(tmp_path: Path) -> None:
    path = tmp_path / "absent"

    with pytest.raises(CredentialsError) as caught:
        load_credentials(path)

    assert str(caught.value) == (
        f"{path}: cannot read the credentials file: [Errno 2] No such file or directory: '{path}'"
    )


def test_a_file_others_can_read_is_loaded_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _file(tmp_path, "username=a\npassword=b\n", mode=0o644)

    with caplog.at_level(logging.WARNING, logger="edge.publish"):
        load_credentials(path)

    assert caplog.messages == [f"MQTT credentials file {path} is readable by others (mode 644)"]
