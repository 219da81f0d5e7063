"""Calendar arithmetic for billing periods: a moment moved on by whole intervals.

Kept apart from `subscriptions.py` because discounts (a repeating coupon ends some
months after it starts) need it too, and subscriptions import the modules that
apply discounts.
"""

import calendar
from datetime import UTC, datetime, timedelta


def add_interval(
    timestamp: int, interval: str, count: int, anchor_day: int | None = None
) -> int:
    """`timestamp` moved on by `count` intervals; months keep the anchor's day if they can."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    if interval == "day":
        return int((moment + timedelta(days=count)).timestamp())
    if interval == "week":
        return int((moment + timedelta(weeks=count)).timestamp())
    months = count * (12 if interval == "year" else 1)
    years, month_index = divmod(moment.month - 1 + months, 12)
    year = moment.year + years
    day = min(anchor_day or moment.day, calendar.monthrange(year, month_index + 1)[1])
    return int(moment.replace(year=year, month=month_index + 1, day=day).timestamp())
