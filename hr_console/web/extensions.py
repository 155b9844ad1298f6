"""Flask extensions, created once and bound to the app in the factory."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.session_protection = "strong"
csrf = CSRFProtect()
# Limits count per client address by default: ``request.remote_addr``, which is the real
# client only once the app factory trusts the proxies in front (``trusted_proxies``,
# ProxyFix); the kiosk API counts per claimed terminal and address instead.
limiter = Limiter(key_func=get_remote_address, default_limits=[], storage_uri="memory://")
