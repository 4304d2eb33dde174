"""Path parameter types, one per kind of id in a URL, shared by every route that takes them."""

from typing import Annotated

from fastapi import Path

from domain.ids import ID_PATTERN

# Validated before the route runs: anything but an id we could have issued must not reach a key.
_IssuedId = Annotated[str, Path(pattern=ID_PATTERN)]
NoteId = _IssuedId
FileId = _IssuedId
