"""LINE's rich menu API: the few calls `flask richmenu sync` and a user's menu switch make (bot/chat/richmenus.py),
through the SDK's client (auth, host, pooled connections). A refusal is `ApiException` (status and LINE's body)."""

from __future__ import annotations

import json
from typing import Any

from linebot.v3.messaging import ApiClient, ApiException, Configuration

from bot.platform.config import Settings

__all__ = ["ApiException", "RichMenuApi"]


def _configuration(token: str, host: str) -> Configuration:
    configuration = Configuration(access_token=token, host=host)
    configuration.retries = False  # one try: urllib3 would log each retry with the URL, which names the user
    return configuration


class RichMenuApi:
    """The few calls a sync and a switch make, through the SDK's client (auth, host, pooled connections)."""

    def __init__(self, settings: Settings, timeout: tuple[float, float] = (3.05, 10.0)) -> None:
        token = settings.line_channel_access_token
        self._api = ApiClient(_configuration(token, settings.line_api_base_url))
        self._data = ApiClient(_configuration(token, settings.line_data_api_url))
        self._timeout = timeout

    def close(self) -> None:
        self._api.close()
        self._data.close()

    def _call(
        self, client: ApiClient, method: str, path: str, body: Any = None, content_type: str | None = None
    ):  # type: ignore[no-untyped-def]
        headers = {"Content-Type": content_type or "application/json"}
        return client.call_api(
            path,
            method,
            header_params=headers,
            body=body,
            response_types_map={},
            auth_settings=["Bearer"],
            _return_http_data_only=False,
            _preload_content=True,
            _request_timeout=self._timeout,
        )

    def exists(self, menu_id: str) -> bool:
        try:
            self._call(self._api, "GET", f"/v2/bot/richmenu/{menu_id}")
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def create(self, definition: dict[str, Any], image: bytes) -> str:
        """A new menu with its PNG image; its id."""
        response = self._call(self._api, "POST", "/v2/bot/richmenu", definition)
        menu_id = json.loads(response.raw_data)["richMenuId"]
        self._call(self._data, "POST", f"/v2/bot/richmenu/{menu_id}/content", image, "image/png")
        return menu_id

    def delete(self, menu_id: str) -> None:
        try:
            self._call(self._api, "DELETE", f"/v2/bot/richmenu/{menu_id}")
        except ApiException as exc:
            if exc.status != 404:  # gone already
                raise

    def set_default(self, menu_id: str) -> None:
        self._call(self._api, "POST", f"/v2/bot/user/all/richmenu/{menu_id}")

    def link(self, user_id: str, menu_id: str) -> None:
        self._call(self._api, "POST", f"/v2/bot/user/{user_id}/richmenu/{menu_id}")

    def unlink(self, user_id: str) -> None:
        try:
            self._call(self._api, "DELETE", f"/v2/bot/user/{user_id}/richmenu")
        except ApiException as exc:
            if exc.status != 404:  # the user had no menu of their own
                raise
