"""The Content-Security-Policy header, from the `CONTENT_SECURITY_POLICY` setting.

The site's pages load only its own static files (no inline script or style), so a
policy this strict costs nothing and takes injected markup's scripts away.
"""

from django.conf import settings


def policy_header(policy: dict[str, list[str]]) -> str:
    """`{"default-src": ["'self'"], ...}` as the header's `default-src 'self'; ...`."""
    return "; ".join(
        " ".join([directive, *sources]) for directive, sources in policy.items()
    )


class ContentSecurityPolicyMiddleware:
    """Send the site's policy with every response that sets none of its own."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = policy_header(settings.CONTENT_SECURITY_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        # Django's technical error pages (DEBUG only) are styled inline.
        debug_page = settings.DEBUG and response.status_code in (404, 500)
        if self.header and not debug_page:
            response.headers.setdefault("Content-Security-Policy", self.header)
        return response
