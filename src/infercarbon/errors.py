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
    │   │   └── InstrumentsFileError       an instruments/consumption/profile file: names
    │   │                                  the entry (JSON) or row (CSV) and the field
    │   ├── EventValidationError           a ledger batch failed validation: every Problem
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
    │   ├── LedgerIntegrityError           a stored figure does not recompute
    │   ├── LedgerConflictError            an id already stored with different content
    │   │   └── KeyTakenError              an insert hit a stored key
    │   └── LedgerReferenceError           a row names a row not stored for its tenant
    ├── ConfigurationError                 inconsistent configuration
    └── AuthError                          credentials missing, malformed, unknown (HTTP 401)

Warnings::

    InfercarbonWarning (UserWarning)
    ├── FallbackWarning                    an explicit, recorded fallback was taken
    └── DataQualityWarning                 input data had gaps, duplicates or outliers
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

__all__ = [
    "AmbiguousRegionError",
    "AuthError",
    "ConfigurationError",
    "DataError",
    "DataQualityWarning",
    "EventValidationError",
    "FallbackWarning",
    "FootprintNotFoundError",
    "ForbiddenError",
    "InfercarbonError",
    "InfercarbonWarning",
    "InputError",
    "InstrumentsFileError",
    "KeyTakenError",
    "LedgerConflictError",
    "LedgerError",
    "LedgerIntegrityError",
    "LedgerLockedError",
    "LedgerReferenceError",
    "MissingCredentialsError",
    "ParseError",
    "PayloadTooLargeError",
    "Problem",
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


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad field: row ``index`` of the batch, ``field`` name, and what is wrong."""

    index: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"[{self.index}].{self.field}: {self.message}"


class EventValidationError(InputError):
    """A batch failed validation; nothing from it was written.

    ``problems`` lists every bad field (row index, field, message); the message names them.
    """

    def __init__(self, table: str, problems: Sequence[Problem], *, more: int = 0) -> None:
        self.table = table
        self.problems = tuple(problems)
        self.more = more
        first = self.problems[0]
        shown = "; ".join(f"{table}{p}" for p in self.problems[:20])
        extra = len(self.problems) - 20 + more
        tail = f"; and {extra} more" if extra > 0 else ""
        super().__init__(
            f"{len(self.problems) + more} invalid field(s), nothing written: {shown}{tail}",
            field=f"{table}[{first.index}].{first.field}",
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # picklable with its problems (the default would call __init__ with the message)
        return (_validation_error, (self.table, self.problems, self.more))


def _validation_error(table: str, problems: Sequence[Problem], more: int) -> EventValidationError:
    return EventValidationError(table, problems, more=more)


class ForbiddenError(InputError):
    """The key may not act for the tenant it asked for (HTTP 403)."""


class PayloadTooLargeError(InputError):
    """A batch over the configured limit (HTTP 413)."""


class InstrumentsFileError(ParseError):
    """A malformed instruments, consumption or profile file
    (:mod:`infercarbon.grid.instruments`).

    Names the file, the JSON entry (``eacs[1] (id 'rec-7')``) or CSV row, and the field.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str],
        entry: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path, self.row, self.column, self.entry = str(path), row, field, entry
        where = ", ".join(
            p
            for p in (
                f"file {path}",
                f"row {row}" if row is not None else "",
                f"entry {entry}" if entry else "",
                f"field {field!r}" if field else "",
            )
            if p
        )
        InputError.__init__(self, f"{where}: {message}")


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


class LedgerConflictError(LedgerError):
    """An id that is already stored (or repeated in the batch) with different content.

    The ledger is append-only: a correction is a new row whose ``supersedes`` names the old id.
    """

    def __init__(self, table: str, ids: Sequence[str], detail: str = "") -> None:
        self.table = table
        self.ids = tuple(ids)
        shown = ", ".join(repr(i) for i in self.ids[:10])
        more = f" (and {len(self.ids) - 10} more)" if len(self.ids) > 10 else ""
        super().__init__(
            f"{table}: id {shown}{more} already recorded with different content; the ledger "
            "is append-only, so send a correction as a new row with `supersedes` set to the "
            f"old id{': ' + detail if detail else ''}. Nothing from this batch was written."
        )


class KeyTakenError(LedgerConflictError):
    """An insert hit a stored key (the database's unique index refused it); the store rolls
    the transaction back.  Raised where the writer expected the key to be new."""


class LedgerReferenceError(LedgerError):
    """A row names another row (``supersedes``, a footprint's event) that is not stored for
    the same tenant: the batch is refused as a whole; retrying it unchanged cannot help."""


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
