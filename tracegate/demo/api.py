"""The cloud's HTTP API as the demo calls it: logged in as the demo user, errors raised with
the service's own message."""

from __future__ import annotations

import urllib.parse
from types import TracebackType
from typing import Any, Self

import httpx


class ApiError(RuntimeError):
    """The service refused a call; the message names the call and quotes the answer."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status}: {body[:2000]}")
        self.status = status


class CloudApi:
    """`async with CloudApi(url) as api: await api.login(user, password)`."""

    def __init__(self, base_url: str, *, timeout_s: float = 30.0) -> None:
        self.base_url = base_url
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def login(self, username: str, password: str) -> None:
        token = await self.post("/api/auth/login", {"username": username, "password": password})
        self._client.headers["Authorization"] = f"Bearer {token['token']}"

    async def get(self, path: str, **params: str) -> Any:
        return await self._call("GET", path, params=params or None)

    async def get_or_none(self, path: str) -> Any:
        """The answer, or None on 404."""
        try:
            return await self.get(path)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    async def post(self, path: str, body: object | None = None) -> Any:
        return await self._call("POST", path, json=body)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self._client.request(method, path, **kwargs)
        if answer.status_code >= 400:
            raise ApiError(method, path, answer.status_code, answer.text)
        if not answer.content:
            return None
        return answer.json()


def unit_path(di: str, serial: str) -> str:
    """The `{unit_id}` path segment of a unit: `DI:SERIAL`, URL-encoded."""
    return urllib.parse.quote(f"{di}:{serial}", safe="")
