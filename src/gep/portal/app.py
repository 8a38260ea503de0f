"""The application factory: ``create_app(portal)`` -> a FastAPI app (JSON API under
``/api/v1``, OpenAPI at ``/openapi.json``, server-rendered pages everywhere else).

Extension points for later issues: add routers with ``app.include_router`` in
``create_app``; add an authenticator (e.g. station API keys) to ``app.state.authenticators``;
record ledger events with ``ledger_hook.record_event`` inside a service's transaction.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session

from gep.portal.security import SESSION_COOKIE, Principal
from gep.portal.services import Portal, PortalError, principal_for

Authenticator = Callable[[Request, Session], "Principal | None"]


async def get_portal(request: Request) -> Portal:  # async: no worker-thread hop
    return request.app.state.portal


def get_db(request: Request) -> Iterator[Session]:
    db = request.app.state.portal.factory()
    try:
        yield db
    finally:
        db.close()


def bearer_authenticator(request: Request, db: Session) -> Principal | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PortalError(401, "malformed Authorization header; use 'Bearer <token>'",
                          {"WWW-Authenticate": "Bearer"})
    claims = request.app.state.portal.tokens.read(token.strip())
    if claims is None:
        raise PortalError(401, "invalid or expired token (登录已失效)",
                          {"WWW-Authenticate": "Bearer"})
    try:
        uid = int(claims["sub"])
    except (TypeError, ValueError):
        raise PortalError(401, "invalid token") from None
    p = principal_for(db, uid, "bearer")
    if p is None:
        raise PortalError(401, "account unknown or disabled", {"WWW-Authenticate": "Bearer"})
    return p


def session_authenticator(request: Request, db: Session) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    claims = request.app.state.portal.tokens.read(token)
    if claims is None:
        return None
    try:
        return principal_for(db, int(claims["sub"]), "session")
    except (TypeError, ValueError):
        return None


def api_principal(request: Request, db: Session = Depends(get_db)) -> Principal | None:
    """The API caller (``None``: the public). The API never reads the session cookie, so a
    page cannot be made to call it with a citizen's session (no CSRF on the API)."""
    try:
        for auth in request.app.state.authenticators:
            p = auth(request, db)
            if p is not None:
                return p
        return None
    finally:
        db.commit()  # end the read: SQLite holds its write lock for a whole transaction


def page_principal(request: Request, db: Session = Depends(get_db)) -> Principal | None:
    try:
        return session_authenticator(request, db)
    finally:
        db.commit()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def create_app(portal: Portal, operations=None) -> FastAPI:
    """The portal's app; ``operations`` (a :class:`gep.operations.service.Context`) mounts
    the daily-operations context too: station uploads (their own per-station API keys, not
    the portal's accounts) and the dashboard page ``/operations``."""
    from gep.portal import api, pages
    from gep.portal.limits import BodySizeLimit

    app = FastAPI(title="gep citizen portal 民间河长与阳光账本监督平台",
                  version="1", openapi_url="/openapi.json", docs_url=None,
                  redoc_url=None,
                  description="River chiefs, patrols, points, public reports and fund use of "
                              "the basin's ecological compensation. See docs/portal.md.")
    app.state.portal = portal
    app.state.authenticators = [bearer_authenticator]

    @app.exception_handler(PortalError)
    async def _portal_error(request: Request, exc: PortalError):
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.message}, status_code=exc.status,
                                headers=exc.headers)
        return pages.error_page(request, exc)

    app.include_router(api.router)
    if operations is not None:
        from gep.operations.api import make_router

        app.include_router(make_router(operations))
        app.router.add_event_handler("shutdown", operations.close)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).with_name("static"))),
              name="static")
    app.add_middleware(BodySizeLimit,
                       max_bytes=int(portal.settings.limits.max_request_mb * 1024 * 1024))
    app.add_middleware(SecurityHeaders)
    return app


_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin")]
_CSP = (b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; form-action 'self'")


class SecurityHeaders:
    """Pure ASGI middleware (cheaper than ``@app.middleware``): nosniff, no framing, and a
    strict Content-Security-Policy unless the route set its own."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        async def add_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [h for h in _HEADERS if h[0] not in names]
                if _CSP[0] not in names:
                    headers.append(_CSP)
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, add_headers)
