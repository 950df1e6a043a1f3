"""One error family for the whole package.

Every error the user can cause derives from :class:`GeoError` and from the matching builtin,
so callers may catch either.  Messages quote the offending value and say what to do.
"""

from __future__ import annotations


class GeoError(Exception):
    """Root of all News Atlas errors."""


class BadInput(GeoError, ValueError):
    """Input (a text, a JSON line, a data file, a coordinate) is malformed."""


class UnknownPlace(GeoError, LookupError):
    """A place name is not in the gazetteer (nor, if enabled, the online geocoder)."""


class GeocoderUnavailable(GeoError, ConnectionError):
    """The online geocoder cannot be reached or refused the request."""


class DataFileError(BadInput):
    """A project data file (gazetteer, routes, metadata) is missing or invalid."""
