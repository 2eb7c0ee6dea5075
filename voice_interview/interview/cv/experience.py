"""Years of professional experience from CV text: an explicit claim ("7 years of
experience") or the dated work history ("Mar 2019 – present"), see :func:`extract_years`."""

from __future__ import annotations

import re
from datetime import date

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_EXPLICIT_YEARS = re.compile(
    r"(?<![\w.])(?P<n>\d{1,2}(?:\.\d)?|" + "|".join(_NUMBER_WORDS) + r")"
    r"[ \t]*(?P<plus>\+|plus\b)?[ \t]*(?:years?|yrs?)\b(?![ \t]+ago)['’]?(?P<tail>[^.\n;]{0,60})",
    re.IGNORECASE,
)
_EXPERIENCE_WORDS = re.compile(
    r"^(?:\W*\w+){0,4}?\W*\b(?:experience|exp|industry|professional(?:ly)?|career|commercial|"
    r"hands-on|engineering|development|programming|software|building|working)\b",
    re.IGNORECASE,
)

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE_RE = (
    r"(?:(?P<{p}mname>" + _MONTH_RE + r")\.?,?[ \t]+|(?P<{p}mnum>0?[1-9]|1[0-2])[/.])?"
    r"(?P<{p}year>(?:19|20)\d{{2}})"
)
_RANGE = re.compile(
    r"(?<![\w/.])" + _DATE_RE.format(p="s") + r"[ \t]*(?:-|–|—|to|until|till)[ \t]*"
    r"(?:" + _DATE_RE.format(p="e") + r"|(?P<present>present|current|now|today|date|ongoing))"
    r"(?![\w/])",
    re.IGNORECASE,
)

_NON_WORK_HEADERS = re.compile(
    r"^(?:education|academic(?: background)?|qualifications|certifications?|certificates|"
    r"courses|training|publications|volunteering|volunteer(?: work| experience)?|languages|"
    r"interests|hobbies|references|awards)\b",
    re.IGNORECASE,
)
_WORK_HEADERS = re.compile(
    r"^(?:(?:work |professional |relevant )?experience|employment(?: history)?|work history|"
    r"career(?: history)?|projects|skills|technical skills|summary|profile|about(?: me)?|"
    r"positions|leadership)\b",
    re.IGNORECASE,
)
_DEGREE_LINE = re.compile(
    r"\b(?:b\.?sc|m\.?sc|b\.?eng|m\.?eng|b\.?a\.|m\.?a\.|bachelor|master'?s|masters|master of|"
    r"ph\.?d|mba|degree|university|college|school|diploma|bootcamp|graduated)\b",
    re.IGNORECASE,
)


# A dated work history longer than the explicit claim by more than this wins over it.
_PARTIAL_CLAIM_GAP = 2.0


def _is_header(line: str) -> bool:
    words = line.strip().strip(":").split()
    return 0 < len(words) <= 4


def _as_decimal_year(year: int, month: int | None, *, end: bool) -> float:
    if month is None:
        return float(year)
    # Start: the first day of the month; end: the last day of the month (inclusive).
    return year + (month if end else month - 1) / 12


def _month(name: str | None, number: str | None) -> int | None:
    if name:
        return _MONTHS[name[:3].lower()]
    if number:
        return int(number)
    return None


def _work_ranges(text: str, today: date) -> list[tuple[float, float]]:
    now = today.year + (today.timetuple().tm_yday - 1) / 365.0
    ranges: list[tuple[float, float]] = []
    in_non_work_section = False
    for line in text.splitlines():
        stripped = line.strip().lstrip("#*•-– ").strip()
        if _is_header(stripped):
            if _NON_WORK_HEADERS.match(stripped):
                in_non_work_section = True
                continue
            if _WORK_HEADERS.match(stripped):
                in_non_work_section = False
                continue
        if in_non_work_section or _DEGREE_LINE.search(line):
            continue
        for m in _RANGE.finditer(line):
            start = _as_decimal_year(int(m["syear"]), _month(m["smname"], m["smnum"]), end=False)
            if m["present"]:
                finish = now
            else:
                finish = _as_decimal_year(
                    int(m["eyear"]), _month(m["emname"], m["emnum"]), end=True
                )
            finish = min(finish, now)
            if start < 1960 or finish < start or finish - start > 50:
                continue
            ranges.append((start, finish))
    return ranges


def _union_length(ranges: list[tuple[float, float]]) -> float:
    total = 0.0
    current: tuple[float, float] | None = None
    for start, finish in sorted(ranges):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (start, finish)
        else:
            current = (current[0], max(current[1], finish))
    if current is not None:
        total += current[1] - current[0]
    return total


def _explicit_years(text: str) -> float | None:
    best: float | None = None
    for m in _EXPLICIT_YEARS.finditer(text):
        raw = m["n"].lower()
        value = float(_NUMBER_WORDS[raw]) if raw in _NUMBER_WORDS else float(raw)
        if not (m["plus"] or _EXPERIENCE_WORDS.match(m["tail"] or "")):
            continue
        if 0 < value <= 50 and (best is None or value > best):
            best = value
    return best


def extract_years(text: str, *, today: date | None = None) -> float | None:
    """Years of professional experience stated in or implied by ``text``, or None.

    An explicit claim wins ("7 years of experience", "5+ years", "over ten years in
    software"; the largest when there are several), unless the work history adds up to
    more than two years beyond it (then the claim was about one technology: "3 years of
    React experience"). Otherwise the date ranges of the work history ("2016 - 2021",
    "Mar 2019 – present", "03/2018 - 11/2020") are summed without counting overlaps
    twice; ranges in education-like sections or on lines that name a degree or school
    are skipped. Year-only ranges count from the start of the
    first year to the start of the last ("2016 - 2021" is 5 years); month ranges include
    the end month. "present" is ``today`` (default: the current date). One decimal.
    """
    explicit = _explicit_years(text)
    total = _union_length(_work_ranges(text, today or date.today()))
    if explicit is not None and total <= explicit + _PARTIAL_CLAIM_GAP:
        return round(explicit, 1)
    return round(total, 1) if total > 0 else None
