from django.conf import settings


def site(request):
    """Site-wide names, for page titles, navigation and e-mails."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SITE_DESCRIPTION": settings.SITE_DESCRIPTION,
    }
