"""One exception tree for infercarbon.

Every error the library raises on purpose is an :class:`InfercarbonError`.  Third-party
errors are wrapped once, at the boundary where they enter, with ``raise ... from exc``.

::

    InfercarbonError
    ├── InputError (ValueError)            bad input: names the field and the fix
    │   ├── UnknownRegionError (LookupError)   lists close matches
    │   ├── UnknownHardwareError (LookupError)
    │   ├── UnknownWorkloadError (LookupError)
    │   └── ParseError                     a malformed file: names row and column
    │       └── InstrumentsFileError       an instruments/consumption/profile file: names
    │                                      the entry (JSON) or row (CSV) and the field
    ├── DataError                          bundled or stored reference data missing/corrupt
    ├── SensorError                        an energy source could not be read
    │   └── SensorUnavailableError         the source does not exist here (and why)
    ├── ProviderError                      a grid-signal API failed
    │   ├── MissingCredentialsError
    │   └── QuotaExceededError
    ├── LedgerError                        the store refused or failed
    │   ├── FootprintNotFoundError         no stored footprint has this id (404)
    │   ├── LedgerLockedError              an embedded ledger is open in another process
    │   └── LedgerIntegrityError           a stored figure does not recompute
    └── ConfigurationError                 inconsistent configuration

Warnings::

    InfercarbonWarning (UserWarning)
    ├── FallbackWarning                    an explicit, recorded fallback was taken
    └── DataQualityWarning                 input data had gaps, duplicates or outliers
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

__all__ = [
    "ConfigurationError",
    "DataError",
    "DataQualityWarning",
    "FallbackWarning",
    "FootprintNotFoundError",
    "InfercarbonError",
    "InfercarbonWarning",
    "InputError",
    "InstrumentsFileError",
    "LedgerError",
    "LedgerIntegrityError",
    "LedgerLockedError",
    "MissingCredentialsError",
    "ParseError",
    "ProviderError",
    "QuotaExceededError",
    "SensorError",
    "SensorUnavailableError",
    "UnknownHardwareError",
    "UnknownRegionError",
    "UnknownWorkloadError",
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


class InfercarbonWarning(UserWarning):
    """Base of every warning infercarbon emits."""


class FallbackWarning(InfercarbonWarning):
    """An explicit fallback was taken; the result records it in its label."""


class DataQualityWarning(InfercarbonWarning):
    """Input data had gaps, duplicates or outliers that were handled as documented."""
