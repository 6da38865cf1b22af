"""The refresh token's cookie: HttpOnly (no script reads it), Secure, SameSite=Strict, and sent
only to the two routes that use it.

Strict rather than Lax: only the storefront's own fetch calls (same site) ever need to send it,
and both routes are POSTs; Lax would add only top-level GET navigations from other sites, which
nothing here needs, so Strict costs nothing and refuses every cross-site request outright (no CSRF
on refresh or log-out). A cookie has one Path, so it is set twice, once per route, with the same
value: log-in, sign-up and every other /api/auth route never receive it. Chromium treats
http://127.0.0.1 and localhost as secure contexts, so Secure cookies work for `make run` too.
"""

from __future__ import annotations

from fastapi import Response

from cloudmall.services.sessions import IssuedRefresh, utc_now

REFRESH_COOKIE = "cloudmall_refresh"
REFRESH_PATH = "/api/auth/refresh"
LOGOUT_PATH = "/api/auth/logout"
COOKIE_PATHS = (REFRESH_PATH, LOGOUT_PATH)


def set_refresh_cookie(response: Response, refresh: IssuedRefresh | None) -> None:
    if refresh is None:
        return
    max_age = max(0, int((refresh.expires_at - utc_now()).total_seconds()))
    for path in COOKIE_PATHS:
        response.set_cookie(
            REFRESH_COOKIE,
            refresh.token,
            max_age=max_age,
            path=path,
            secure=True,
            httponly=True,
            samesite="strict",
        )


def clear_refresh_cookie(response: Response) -> None:
    for path in COOKIE_PATHS:
        response.delete_cookie(
            REFRESH_COOKIE, path=path, secure=True, httponly=True, samesite="strict"
        )
