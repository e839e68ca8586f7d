"""What the commands say when given a folder where they want a file.

A survey's folder is the likeliest one (``damagemap info town/`` after ``damagemap survey
create town/``): it is named as a survey, with the projects of its flights and the survey
commands that read it whole, instead of a bare "is a folder".
"""

from __future__ import annotations

from pathlib import Path

from core.errors import InputError


def refuse_folder(path: Path, wanted: str) -> None:
    """Raise an :class:`InputError` when ``path`` is a folder; ``wanted`` ("the project
    file (.dmproj)", "a drone video or a .dmproj project") says what to give instead."""
    if not path.is_dir():
        return
    from core.survey import Survey, SurveyError, survey_folder_of

    if survey_folder_of(path) is not None:
        try:
            survey = Survey.open(path)
            projects = [str(survey.project_path(flight)) for flight in survey.flights]
        except SurveyError:
            projects = []
        flights = f"; one of its flights is {projects[0]!r}" if projects else ""
        raise InputError(f"{str(path)!r} is a survey folder: give {wanted} of one flight{flights}, "
                         f"or read the whole survey with `damagemap survey info|export {path}`")
    raise InputError(f"{str(path)!r} is a folder; give {wanted} inside it")


__all__ = ["refuse_folder"]


#: The longest name of one file or folder most file systems take (ext4, NTFS, APFS), bytes.
MAX_NAME_BYTES = 255


def refuse_overlong_name(path: Path, flag: str) -> None:
    """A path with a name longer than a file system takes, named as such: the system's
    own "File name too long" came from a file looked for inside it (``survey.json``),
    naming a file the user never gave."""
    import os

    for part in path.parts:
        length = len(os.fsencode(part))
        if length > MAX_NAME_BYTES:
            raise InputError(f"{flag} {str(path)!r}: the name {part[:24]}… is {length} bytes long, and a file "
                             f"system takes at most {MAX_NAME_BYTES} bytes for one name: use a shorter name")
