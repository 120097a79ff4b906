"""The console's login, session cookie, CSRF and its answers to strangers, on both databases."""

from __future__ import annotations

from access_helpers import PASSWORD
from console_helpers import HTML, Client, LogIn, csrf_of
from sqlalchemy import select

from cloud.db.database import Database
from cloud.domain.audit.models import AuditEntry
from cloud.domain.auth.models import ApiToken


async def test_a_browser_without_a_session_is_sent_to_the_login_page(web: Client) -> None:
    response = await web.get("/console/unit?id=09506000134352:KIT1")
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/console/login?next=%2Fconsole%2Funit%3Fid%3D09506000134352%3AKIT1"
    )
    login_page = await web.get(response.headers["location"])
    assert login_page.status_code == 200
    assert 'name="next" value="/console/unit?id=09506000134352:KIT1"' in login_page.text


async def test_a_client_not_asking_for_html_keeps_the_api_401(web: Client) -> None:
    response = await web.get("/console/search", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="tracegate"'


async def test_login_sets_an_http_only_console_cookie_and_audits(
    web: Client, login: LogIn, db: Database
) -> None:
    await login("quality")
    cookie = next(c for c in web.cookies.jar if c.name == "tracegate_console")
    assert cookie.path == "/console"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "strict"
    page = await web.get("/console/search")
    assert page.status_code == 200
    assert "Quinn Quality" in page.text
    async with db.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.request))).all()
    assert "POST /console/login" in actions


async def test_the_cookie_is_not_accepted_by_the_api(web: Client, login: LogIn) -> None:
    await login("quality")
    token = next(c.value for c in web.cookies.jar if c.name == "tracegate_console")
    # The cookie is scoped to /console; sent to /api anyway, it is ignored.
    response = await web.get(
        "/api/auth/me", headers={"Cookie": f"tracegate_console={token}", "Accept": "*/*"}
    )
    assert response.status_code == 401


async def test_a_wrong_password_shows_the_form_again_with_the_reason(
    web: Client, users: dict[str, str]
) -> None:
    response = await web.post(
        "/console/login", data={"username": users["quality"], "password": "nope", "next": ""}
    )
    assert response.status_code == 401
    assert "wrong username or password" in response.text
    assert f'value="{users["quality"]}"' in response.text


async def test_next_never_leaves_the_console(web: Client, users: dict[str, str]) -> None:
    response = await web.post(
        "/console/login",
        data={"username": users["auditor"], "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.headers["location"] == "/console/search"


async def test_logout_needs_the_form_token_and_revokes_the_session(
    web: Client, login: LogIn, db: Database
) -> None:
    await login("operator")
    forged = await web.post("/console/logout", data={"csrf": "0" * 40})
    assert forged.status_code == 403
    assert "security token" in forged.text
    page = await web.get("/console/search")
    response = await web.post("/console/logout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    async with db.sessions() as session:
        revoked = (
            await session.scalars(select(ApiToken.revoked_at).where(ApiToken.name == "login"))
        ).all()
    assert revoked and all(r is not None for r in revoked)
    after = await web.get("/console/search", headers=HTML)
    assert after.status_code == 303


async def test_static_files_are_public_and_nothing_else_is_served(web: Client) -> None:
    css = await web.get("/console/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    missing = await web.get("/console/static/..%2Fsession.py")
    assert missing.status_code == 404
