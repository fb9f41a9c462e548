"""One date format across the console, with the time zone shown
(Django's English default is "Nov. 26, 2026, 3:18 p.m.")."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"  # a time of day (a calling window) has no seconds
