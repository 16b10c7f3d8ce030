"""A curl command line, as a seed's README writes it, sent with requests.

Only what the READMEs use: -X, -H, -d/--data/--data-raw (form-encoded unless a Content-Type
is given, as curl does), --data-binary, -F (multipart; `@file` reads a file), -G with -d or
--data-urlencode (the query string), and the flags that change nothing here (-k, -s, -i, -v,
combined like -si). `$NAME` and `${NAME}` are substituted from the variables given (the base
URL is `$B`, a fresh username, a copied token or id) — inside single quotes too, which is
where a README's literal username or token stood.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

QUIET = {"--insecure", "--silent", "--include", "--verbose", "--location"}
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


class Curl(requests.Session):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.files_dir = Path(".")

    def __call__(self, line: str, **variables: Any) -> requests.Response:
        values = {"B": self.base_url, **{k: str(v) for k, v in variables.items()}}
        words = shlex.split(line.replace("\\\n", " "))
        assert words[0] == "curl", line
        return self._send([VARIABLE.sub(lambda m: values[m.group(1)], word) for word in words[1:]])

    def _send(self, words: list[str]) -> requests.Response:
        method, url, headers = None, None, {}
        data: list[str] = []
        binary: bytes | None = None
        fields: list[tuple[str, Any]] = []
        get = False
        pending = iter(words)
        for word in pending:
            if word in QUIET or re.fullmatch(r"-[skivSL]+", word):
                continue
            if word.startswith("-X") and len(word) > 2:
                method = word[2:]
            elif word in ("-X", "--request"):
                method = next(pending)
            elif word in ("-H", "--header"):
                name, _, value = next(pending).partition(":")
                headers[name.strip()] = value.strip()
            elif word in ("-d", "--data", "--data-raw"):
                value = next(pending)
                data.append(self._file(value[1:]).decode() if value.startswith("@") and word != "--data-raw" else value)
            elif word == "--data-urlencode":
                name, _, value = next(pending).partition("=")
                data.append(f"{name}={quote(value)}")
            elif word == "--data-binary":
                value = next(pending)
                binary = self._file(value[1:]) if value.startswith("@") else value.encode()
            elif word in ("-F", "--form"):
                name, _, value = next(pending).partition("=")
                if value.startswith("@"):
                    fields.append((name, (Path(value[1:]).name, self._file(value[1:]))))
                else:
                    fields.append((name, (None, value)))
            elif word in ("-G", "--get"):
                get = True
            elif word.startswith("-"):
                raise AssertionError(f"curl option {word} is not understood here")
            else:
                url = word
        assert url, words
        body: Any = None
        if get:
            url += ("&" if "?" in url else "?") + "&".join(data)
        elif data:
            body = "&".join(data).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif binary is not None:
            body = binary
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        method = method or ("POST" if body is not None or fields else "GET")
        return self.request(method, url, data=body, headers=headers, files=fields or None, timeout=15)

    def _file(self, name: str) -> bytes:
        return (self.files_dir / name).read_bytes()
