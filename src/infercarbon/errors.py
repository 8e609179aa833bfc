"""One exception tree for infercarbon.

Every error the library raises on purpose is an :class:`InfercarbonError`.  Third-party
errors are wrapped once, at the boundary where they enter, with ``raise ... from exc``.

::

    InfercarbonError
    ├── InputError (ValueError)            bad input: names the field and the fix
    │   ├── UnknownRegionError (LookupError)   lists close matches
    │   │   └── AmbiguousRegionError       several regions match equally well
    │   ├── UnknownHardwareError (LookupError)
    │   ├── UnknownWorkloadError (LookupError)
    │   ├── ParseError                     a malformed file: names row and column
    │   ├── ForbiddenError                 a key may not act for that tenant (HTTP 403)
    │   └── PayloadTooLargeError           a batch over the configured limit (HTTP 413)
    ├── DataError                          bundled or stored reference data missing/corrupt
    ├── SensorError                        an energy source could not be read
    │   └── SensorUnavailableError         the source does not exist here (and why)
    ├── ProviderError                      a grid-signal API (or a proxied upstream) failed
    │   ├── MissingCredentialsError
    │   ├── QuotaExceededError
    │   ├── ProviderHTTPError              a non-success HTTP status
    │   │   └── ProviderAuthError          401 or 403: credentials rejected
    │   ├── ProviderTransportError         no HTTP answer (timeout, DNS, refused)
    │   ├── ProviderPayloadError           the answer lacks the documented shape
    │   ├── UpstreamUnreachable            the proxied upstream could not be reached
    │   └── UpstreamTimeout                the proxied upstream did not answer in time
    ├── LedgerError                        the store refused or failed
    │   ├── FootprintNotFoundError         no stored footprint has this id (404)
    │   ├── LedgerLockedError              an embedded ledger is open in another process
    │   └── LedgerIntegrityError           a stored figure does not recompute
    ├── ConfigurationError                 inconsistent configuration
    └── AuthError                          credentials missing, malformed, unknown (HTTP 401)

Warnings::

    InfercarbonWarning (UserWarning)
    ├── FallbackWarning                    an explicit, recorded fallback was taken
    └── DataQualityWarning                 input data had gaps, duplicates or outliers
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AmbiguousRegionError",
    "AuthError",
    "ConfigurationError",
    "DataError",
    "DataQualityWarning",
    "FallbackWarning",
    "FootprintNotFoundError",
    "ForbiddenError",
    "InfercarbonError",
    "InfercarbonWarning",
    "InputError",
    "LedgerError",
    "LedgerIntegrityError",
    "LedgerLockedError",
    "MissingCredentialsError",
    "ParseError",
    "PayloadTooLargeError",
    "ProviderAuthError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderPayloadError",
    "ProviderTransportError",
    "QuotaExceededError",
    "SensorError",
    "SensorUnavailableError",
    "UnknownHardwareError",
    "UnknownRegionError",
    "UnknownWorkloadError",
    "UpstreamTimeout",
    "UpstreamUnreachable",
]


class InfercarbonError(Exception):
    """Base of every error raised by infercarbon."""


class InputError(InfercarbonError, ValueError):
    """Bad input.  ``field`` names what is wrong; the message says how to fix it."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class _UnknownName(InputError, LookupError):
    kind = "name"

    def __init__(
        self, query: str, *, suggestions: Sequence[str] = (), known: Sequence[str] = ()
    ) -> None:
        self.query = query
        self.suggestions = list(suggestions)
        msg = f"unknown {self.kind} {query!r}"
        if self.suggestions:
            msg += "; did you mean: " + ", ".join(self.suggestions) + "?"
        if known:
            msg += " Known: " + ", ".join(known) + "."
        super().__init__(msg, field=self.kind)


class UnknownRegionError(_UnknownName):
    """A region that no bundled table knows.  There is no silent world-average fallback."""

    kind = "region"


class AmbiguousRegionError(UnknownRegionError):
    """A query (e.g. a bare cloud region name) that several regions match equally well."""

    def __init__(self, query: str, matches: Sequence[str]) -> None:
        super().__init__(query, suggestions=matches)
        self.matches = list(matches)
        self.args = (
            f"region: {query!r} is ambiguous: it matches {', '.join(self.matches)}; "
            "use one of these prefixed ids",
        )


class UnknownHardwareError(_UnknownName):
    """A GPU, CPU or tier that no bundled table knows."""

    kind = "hardware"


class UnknownWorkloadError(_UnknownName):
    """A workload id that the bundled cohort does not contain."""

    kind = "workload"


class ParseError(InputError):
    """A malformed file or table.  Carries the file, 1-based row and column where known."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path, self.row, self.column = path, row, column
        where = ", ".join(
            p
            for p in (
                f"file {path}" if path else "",
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            )
            if p
        )
        super().__init__(f"{where}: {message}" if where else message)


class ForbiddenError(InputError):
    """The key may not act for the tenant it asked for (HTTP 403)."""


class PayloadTooLargeError(InputError):
    """A batch over the configured limit (HTTP 413)."""


class DataError(InfercarbonError):
    """Bundled or stored reference data is missing or corrupt."""


class SensorError(InfercarbonError):
    """An energy source failed to read."""


class SensorUnavailableError(SensorError):
    """The energy source is not present on this machine; the message says why."""


class ProviderError(InfercarbonError):
    """A grid-signal provider failed (network, HTTP status, or payload shape)."""


class MissingCredentialsError(ProviderError):
    """The provider needs an API key or login that was not given."""


class QuotaExceededError(ProviderError):
    """The provider refused the request for quota or rate limits."""


class ProviderHTTPError(ProviderError):
    """A provider answered with a non-success HTTP status.

    ``status`` is the HTTP status code and ``detail`` the provider's own message.
    """

    def __init__(self, provider: str, status: int, detail: str, *, url: str = "") -> None:
        self.provider, self.status, self.detail, self.url = provider, status, detail, url
        where = f" for {url}" if url else ""
        super().__init__(f"{provider}: HTTP {status}{where}: {detail or '(no message)'}")


class ProviderAuthError(ProviderHTTPError):
    """The provider rejected the credentials (HTTP 401 or 403)."""


class ProviderTransportError(ProviderError):
    """The request never got an HTTP answer (timeout, DNS, refused connection)."""


class ProviderPayloadError(ProviderError):
    """The response does not have the documented shape; ``field`` names what is missing."""

    def __init__(self, provider: str, field: str, message: str) -> None:
        self.provider, self.field = provider, field
        super().__init__(f"{provider}: payload field {field!r}: {message}")


class UpstreamUnreachable(ProviderError):
    """The upstream could not be reached or dropped the connection."""


class UpstreamTimeout(ProviderError):
    """The upstream did not connect or answer in time."""


class LedgerError(InfercarbonError):
    """The ledger store refused or failed an operation."""


class FootprintNotFoundError(LedgerError, LookupError):
    """No stored footprint has this id (for this tenant): HTTP 404, never a ledger outage."""


class LedgerLockedError(LedgerError):
    """An embedded (DuckDB) ledger is open for writing in another process, e.g. a running
    ``infercarbon serve``: read it through that server (``--server URL --key KEY``)."""


class LedgerIntegrityError(LedgerError):
    """A stored figure does not recompute from its stored inputs."""


class ConfigurationError(InfercarbonError):
    """Options that contradict each other or the environment."""


class AuthError(InfercarbonError):
    """A request's credentials are missing, malformed, unknown or revoked (HTTP 401)."""


class InfercarbonWarning(UserWarning):
    """Base of every warning infercarbon emits."""


class FallbackWarning(InfercarbonWarning):
    """An explicit fallback was taken; the result records it in its label."""


class DataQualityWarning(InfercarbonWarning):
    """Input data had gaps, duplicates or outliers that were handled as documented."""
