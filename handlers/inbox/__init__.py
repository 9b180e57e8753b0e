"""The office inbox (SPEC "The office inbox"): dispatchers read and answer conversations in a browser.

handlers/inbox/login.py logs in by a texted code; session.py keeps the signed session and checks
CSRF and Origin; views.py has the pages and actions; conversations.py what they show.
"""

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from handlers.inbox import live, login, views
from handlers.inbox.pages import STATIC_DIR

routes = [
    Route("/inbox", views.inbox, methods=["GET"]),
    Route("/inbox/login", login.login_page, methods=["GET"]),
    Route("/inbox/login", login.request_code, methods=["POST"]),
    Route("/inbox/login/code", login.check_code, methods=["POST"]),
    Route("/inbox/business", login.pick_business, methods=["GET", "POST"]),
    Route("/inbox/logout", login.logout, methods=["POST"]),
    Route("/inbox/today", views.today, methods=["GET"]),
    Route("/inbox/events", live.events, methods=["GET"]),
    Route("/inbox/c/{key}", views.conversation, methods=["GET"]),
    Route("/inbox/c/{key}/reply", views.reply, methods=["POST"]),
    Route("/inbox/c/{key}/resend", views.send_again, methods=["POST"]),
    Route("/inbox/c/{key}/status", views.move, methods=["POST"]),
    Route("/inbox/c/{key}/reschedule", views.reschedule, methods=["POST"]),
    Mount("/inbox/static", app=StaticFiles(directory=STATIC_DIR), name="inbox-static"),
]

__all__ = ["STATIC_DIR", "routes"]
