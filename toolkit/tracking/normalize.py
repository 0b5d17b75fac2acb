"""Raw scans from any source turned into the events table, with handover links found."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from toolkit.errors import (
    InputError,
    MissingColumnsError,
    SchemaError,
    TimeParseError,
    ValueNotAllowedError,
)
from toolkit.model import (
    DOMESTIC_CARRIERS,
    EVENT_DTYPES,
    LEGS,
    MILESTONES,
    carrier_code,
    carrier_names,
    carrier_tz,
    china_leg_pattern,
    validate_events,
)
from toolkit.safetext import scrub_series
from toolkit.times import UTC_DTYPE, format_local, parse_times
from toolkit.tracking import numbers
from toolkit.tracking.phrases import classify, classify_many

__all__ = [
    "LINK_COLUMNS",
    "carrier_code",
    "classify",
    "extract_handover",
    "handover_links",
    "normalize",
]

LINK_COLUMNS: tuple[str, ...] = ("linked_number", "linked_carrier")
LINE_COLUMN = "_line"  # input row numbers to report in errors (e.g. file lines); not kept
# attrs key of normalize()'s result: characters of the input's text replaced with U+FFFD
# (lone surrogates, NUL and other control characters; toolkit.safetext).
REPLACED_ATTR = "text_replaced"
# A provider's opinion of a scan (the milestone its status code stands for), weighed
# against the text's reading (toolkit.tracking.phrases.reconcile); not kept.
STATUS_COLUMN = "status_milestone"

_ALIASES = carrier_names()


def _alias_pattern() -> str:
    parts = []
    for alias in sorted(_ALIASES, key=len, reverse=True):
        text = re.escape(alias).replace(r"\ ", r"\s*")
        if alias.isascii():  # Latin names must stand alone, not sit inside a number or word
            text = rf"(?<![A-Za-z0-9]){text}(?![A-Za-z0-9])"
        parts.append(text)
    return "(?i)(?P<carrier>" + "|".join(parts) + ")"


_CARRIER_NAME = _alias_pattern()
_ALIAS_DIGITS = any(ch.isdigit() for alias in _ALIASES for ch in alias)
# Whitespace as literal characters: patterns without \s run on pyarrow's fast regex engine.
_SPACE = "[ \t\r\n\u3000\xa0]"
# Words that say a parcel went to another carrier, usually under a new number.
_HANDOVER_CUE = (
    r"(?i)转交|交由|交给|移交|转运至|转至|转国内|交国内|国内段|国内快递|国内承运|落地配|"
    rf"转 *{china_leg_pattern()}|"  # the carriers that take a parcel over inside China
    r"新单号|转单号|国内单号|派送单号|"
    r"hand(?:ed)?[ -]*over|transferr?(?:ed|ing)? +to|forwarded +to|tendered +to|"
    r"local +(?:carrier|courier)|last[ -]*mile|domestic +(?:carrier|courier|tracking|number)|"
    r"delivery +(?:partner|company|service)|new +tracking +(?:number|no)"
)
# A carrier's Latin name run into the number after 转 ("transferred to"): 转EMS1133969112997.
_NAME_ON_NUMBER = r"(?i)(?<=转)(ems)(?=\d)"
# A tracking-number-like token, optionally right after a label such as 运单号 or "tracking number".
_LINKED_NUMBER = (
    r"(?i)(?P<label>(?:运单号|快递单号|新单号|转单号|单号|单号码|"
    r"tracking\s*(?:number|no\.?|#)|waybill\s*(?:number|no\.?)?|number|no\.)"
    r"\s*(?:is\s*)?[:：#]?\s*)?"
    r"(?<![A-Za-z0-9])(?P<number>[A-Za-z]{0,4}\d{8,20}[A-Za-z]{0,2})(?![A-Za-z0-9])"
)


_MOBILE = r"1[3-9]\d{9}"


def _clean_number(values: pd.Series) -> pd.Series:
    """Tracking numbers compared the way carriers do: no spaces, upper case."""
    return values.astype("str").str.replace(_SPACE, "", regex=True).str.upper().astype("string")


def _first_candidates(number_values: pd.Series) -> pd.Series:
    """First carrier candidate of each number (NA where none), parsing each distinct number once."""
    codes, uniques = pd.factorize(number_values, use_na_sentinel=True)
    found = [numbers.parse(u).carrier for u in uniques]
    firsts = pd.array([*found, None], dtype="string")  # code -1 (missing) takes the NA
    return pd.Series(firsts[codes], index=number_values.index, dtype="string")


def _links(
    descriptions: pd.Series, own: pd.Series, handover_rows: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """Linked (number, carrier) per row where a text hands the parcel to another carrier.

    Each distinct text is searched once (a table repeats the same wordings thousands of
    times); what depends on the row, its own number, is compared afterwards.
    """
    index = descriptions.index
    number_out = pd.Series(pd.NA, index=index, dtype="string")
    carrier_out = pd.Series(pd.NA, index=index, dtype="string")
    text = descriptions.astype("str")
    codes, texts = pd.factorize(text, use_na_sentinel=True)
    texts = pd.Series(np.asarray(texts, dtype=object), dtype="str")
    # "转EMS1133969112997": the carrier's name written onto the new number, split off
    texts = texts.str.replace(_NAME_ON_NUMBER, r"\1 ", regex=True)
    cue_of = texts.str.contains(_HANDOVER_CUE, regex=True).fillna(False).to_numpy(bool)
    cue = np.append(cue_of, False)[codes]  # code -1 (no text) takes the False
    if handover_rows is not None:
        cue = cue | handover_rows.fillna(False).astype(bool).to_numpy()
    cue &= codes >= 0
    if not cue.any():
        return number_out, carrier_out
    rows = np.flatnonzero(cue)
    row_text = codes[rows]
    searched = np.unique(row_text)
    tokens = pd.Series(texts.to_numpy()[searched], index=searched).str.extractall(_LINKED_NUMBER)
    if tokens.empty:
        return number_out, carrier_out
    tokens = pd.DataFrame(
        {
            "text": tokens.index.get_level_values(0),
            "order": tokens.index.get_level_values(1),
            "number": _clean_number(tokens["number"]).to_numpy(),
            "unlabelled": tokens["label"].isna().to_numpy(),
        }
    )
    # A courier's mobile number (11 digits, 1[3-9]...) in a delivery scan is not a waybill.
    tokens = tokens[~tokens["number"].str.fullmatch(_MOBILE).fillna(False).astype(bool)]
    found = pd.DataFrame({"row": rows, "text": row_text}).merge(tokens, on="text")
    own_clean = _clean_number(pd.Series(own.to_numpy()[found["row"].to_numpy()]))
    mine = found["number"].to_numpy(dtype=object) == own_clean.fillna("").to_numpy(dtype=object)
    best = found[~mine].sort_values(["row", "unlabelled", "order"], kind="stable")
    best = best.drop_duplicates("row").set_index("row")
    if best.empty:
        return number_out, carrier_out
    numbers_best = best["number"].astype("string")

    # carrier names, searched once per wording: with no digit in any name, a text's digit
    # runs can be written as one 0 each without changing what the names match
    named_texts = np.unique(best["text"].to_numpy())
    wording = pd.Series(texts.to_numpy()[named_texts], dtype="str")
    if not _ALIAS_DIGITS:
        wording = wording.str.replace("[0-9]+", "0", regex=True)
    form, forms = pd.factorize(wording)
    named = pd.Series(np.asarray(forms, dtype=object), dtype="str").str.extractall(_CARRIER_NAME)
    named = pd.DataFrame(
        {
            "form": named.index.get_level_values(0),
            "order": named.index.get_level_values(1),
            "carrier": named["carrier"].to_numpy(),
        }
    )
    form_of = pd.Series(form, index=named_texts)
    row_form = form_of.reindex(best["text"].to_numpy()).to_numpy()
    named = pd.DataFrame({"row": best.index, "form": row_form}).merge(named, on="form")
    rows_named = pd.Index(named["row"])
    several = rows_named[rows_named.duplicated()].unique()
    guess_rows = numbers_best.index.difference(rows_named.unique()).union(several)
    guessed = _first_candidates(numbers_best[guess_rows]).reindex(numbers_best.index)
    chosen = guessed.copy()
    if not named.empty:
        named = named.assign(code=named["carrier"].map(carrier_code).astype("string"))
        agreed = named["code"].to_numpy(dtype=object) == guessed.reindex(named["row"]).to_numpy(
            dtype=object, na_value=""
        )
        named["agrees"] = agreed.astype(bool)
        named["domestic"] = named["code"].isin(DOMESTIC_CARRIERS).to_numpy()
        named = named.sort_values(
            ["row", "agrees", "domestic", "order"], ascending=[True, False, False, True]
        )
        first_named = named.drop_duplicates("row").set_index("row")["code"].astype("string")
        chosen.loc[first_named.index] = first_named
    number_out.iloc[numbers_best.index.to_numpy()] = numbers_best.to_numpy()
    carrier_out.iloc[chosen.index.to_numpy()] = chosen.to_numpy()
    return number_out, carrier_out


def extract_handover(text: str, own_number: str | None = None) -> tuple[str | None, str] | None:
    """(carrier code or None, new number) when a scan text hands the parcel to another carrier."""
    if not isinstance(text, str):
        return None
    number, carrier = _links(pd.Series([text]), pd.Series([own_number]))
    if pd.isna(number.iloc[0]):
        return None
    code = carrier.iloc[0]
    return (None if pd.isna(code) else str(code)), str(number.iloc[0])


def _blank(values: pd.Series) -> pd.Series:
    """True where a cell holds nothing (NA, empty or only spaces)."""
    text = values.astype("str")
    return (text.isna() | (text.str.strip() == "")).astype(bool)


def _frame(
    raw_events: pd.DataFrame | Iterable[Mapping], where: str | None
) -> tuple[pd.DataFrame, int]:
    """The input as a DataFrame with clean text, and how many characters were replaced."""
    df = _raw_frame(raw_events, where)
    replaced = 0
    for column in df.columns:
        cleaned, n = scrub_series(df[column])
        if n:
            df[column] = cleaned
            replaced += n
    if replaced and not isinstance(raw_events, pd.DataFrame):
        df = df.infer_objects()  # records built as objects to hold the text before cleaning
    return df, replaced


def _raw_frame(raw_events: pd.DataFrame | Iterable[Mapping], where: str | None) -> pd.DataFrame:
    if isinstance(raw_events, pd.DataFrame):
        repeated = raw_events.columns[raw_events.columns.duplicated()].unique().tolist()
        if repeated:
            raise InputError(
                f"the events table has more than one column named {', '.join(map(repr, repeated))}",
                where,
                "Give each column its own name",
            )
        return raw_events.reset_index(drop=True)
    if isinstance(raw_events, str | bytes | Mapping) or not isinstance(raw_events, Iterable):
        raise InputError(
            f"expected a DataFrame or a list of dicts of events, got {type(raw_events).__name__}",
            where,
        )
    records = list(raw_events)
    bad = [i + 1 for i, r in enumerate(records) if not isinstance(r, Mapping)]
    if bad:
        raise InputError(
            f"item(s) {', '.join(map(str, bad[:10]))} are not mappings of column to value",
            where,
            "Give each event as a dict such as {'tracking_number': ..., 'description': ...}",
        )
    try:
        return pd.DataFrame.from_records(records)
    except UnicodeError:  # text no column can hold (a lone surrogate): _frame cleans it
        return pd.DataFrame(records, dtype=object)


def _line_numbers(df: pd.DataFrame) -> np.ndarray:
    if LINE_COLUMN in df.columns:
        lines = pd.to_numeric(df[LINE_COLUMN], errors="coerce")
        if lines.notna().all():
            return lines.astype("int64").to_numpy()
    return np.arange(1, len(df) + 1)


def _text(df: pd.DataFrame, column: str, default: str | None = None) -> pd.Series:
    """A column as strings with blanks as NA, or all-NA/default when the column is absent."""
    if column in df.columns:
        values = df[column].astype("string")
        return values.mask(_blank(values))
    return pd.Series(default if default is not None else pd.NA, index=df.index, dtype="string")


def _check_allowed(values: pd.Series, column: str, allowed, lines, where) -> None:
    bad = (values.notna() & ~values.isin(list(allowed))).fillna(False).astype(bool).to_numpy()
    if bad.any():
        raise ValueNotAllowedError(
            column, lines[bad].tolist(), values[bad].astype(str).tolist(), allowed, where
        )


def _flags(df: pd.DataFrame, lines: np.ndarray, where: str | None) -> pd.Series:
    """The input's own tz_assumed values as booleans (NA where not given)."""
    if "tz_assumed" not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="boolean")
    values = df["tz_assumed"]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean")
    text = _text(df, "tz_assumed").str.strip().str.lower()
    words = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    words.update({"t": True, "f": False, "y": True, "n": False, "1.0": True, "0.0": False})
    _check_allowed(text, "tz_assumed", list(words), lines, where)
    return text.map(words, na_action="ignore").astype("boolean")


def _as_time_text(values: pd.Series) -> pd.Series:
    """Time cells as text as given (datetimes rendered in ISO form)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(
        values.dtype
    ):
        return values.astype("str").astype("string").mask(values.isna())
    return values.astype("string")


def _times(
    df: pd.DataFrame,
    carrier: pd.Series,
    tz: str | None,
    lines: np.ndarray,
    where: str | None,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """time_utc, time_local text and tz_assumed for every row, or TimeParseError."""
    if tz:
        zones = pd.Series(tz, index=df.index)
    else:  # one look-up per carrier, not per row
        codes, uniques = pd.factorize(carrier, use_na_sentinel=True)
        table = np.array([*map(carrier_tz, uniques), carrier_tz(None)], dtype=object)
        zones = pd.Series(table[codes], index=df.index, dtype=object)
    time_utc = pd.Series(pd.NaT, index=df.index, dtype=UTC_DTYPE)
    assumed = pd.Series(False, index=df.index)
    utc_blank = pd.Series(True, index=df.index)
    given = _flags(df, lines, where)
    if "time_utc" in df.columns:
        utc_blank = _blank(df["time_utc"])
        parsed, _, _ = parse_times(df["time_utc"], "UTC")
        time_utc = parsed
        assumed = given.fillna(False).astype(bool)

    local_text = (
        _as_time_text(df["time_local"]).mask(_blank(df["time_local"]))
        if "time_local" in df.columns
        else pd.Series(pd.NA, index=df.index, dtype="string")
    )
    need_local = time_utc.isna() & local_text.notna()
    if need_local.any():
        source = df["time_local"] if "time_local" in df.columns else local_text
        local, local_assumed, _ = parse_times(source[need_local], zones[need_local])
        time_utc[need_local] = local
        assumed[need_local] = local_assumed

    failed = time_utc.isna().to_numpy()
    if failed.any():
        local_failed = failed & local_text.notna().to_numpy()
        utc_failed = failed & ~utc_blank.to_numpy()
        if local_failed.any():
            column, examples = "time_local", local_text[local_failed]
        elif utc_failed.any():
            column, examples = "time_utc", df["time_utc"][utc_failed].astype("string")
        else:
            column = "time_local" if "time_local" in df.columns else "time_utc"
            examples = pd.Series([""])
        raise TimeParseError(column, lines[failed].tolist(), examples.tolist(), where)

    missing_text = local_text.isna()
    if missing_text.any():
        local_text[missing_text] = format_local(time_utc[missing_text], zones[missing_text])
    return time_utc, local_text, assumed


def _legs(given: pd.Series, carrier: pd.Series, number: pd.Series) -> pd.Series:
    """Leg per row: the input's where given, else from the carrier and the number's form."""
    s10 = number.str.fullmatch(r"[A-Z]{2}\d{9}[A-Z]{2}").fillna(False).astype(bool)
    chinese_post = carrier.isin(["ems", "chinapost"]).fillna(False).astype(bool)
    domestic = carrier.isin(DOMESTIC_CARRIERS).fillna(False).astype(bool)
    own_s10 = s10 & chinese_post & number.str.endswith("CN").fillna(False).astype(bool)
    guessed = np.where(domestic & (~s10 | own_s10), "domestic", "international")
    return given.fillna(pd.Series(guessed, index=given.index, dtype="string"))


def _carriers(df: pd.DataFrame, number: pd.Series) -> pd.Series:
    """Carrier code per row: the input's (names mapped to codes), else from the number."""
    given = _text(df, "carrier").str.strip()
    uniques = given.dropna().unique()
    codes = {u: carrier_code(u) or u.lower() for u in uniques}
    carrier = given.map(codes, na_action="ignore").astype("string")
    absent = carrier.isna()
    if absent.any():
        carrier[absent] = _first_candidates(number[absent]).fillna("unknown")
    return carrier


def _filled_counts(df: pd.DataFrame) -> np.ndarray:
    counts = np.zeros(len(df), dtype=np.int64)
    for column in df.columns:
        counts += (~_blank(df[column])).to_numpy()
    return counts


def _unique_scans(df: pd.DataFrame, order: np.ndarray) -> np.ndarray:
    """Rows to keep: one per scan, the copy with most fields filled (the earlier on ties)."""
    text = df["description"].astype("str").fillna("")
    keys = pd.DataFrame(
        {
            "parcel_id": df["parcel_id"].to_numpy(),
            "tracking_number": df["tracking_number"].to_numpy(),
            "time_utc": df["time_utc"].dt.tz_localize(None).to_numpy(),
            "description": text.str.replace(_SPACE + "+", " ", regex=True).str.strip().to_numpy(),
        }
    )
    keep = np.ones(len(df), dtype=bool)
    dup = keys.duplicated(keep=False).to_numpy()
    if not dup.any():
        return keep
    ranked = keys[dup].assign(_filled=-_filled_counts(df[dup]), _order=order[dup])
    ranked = ranked.sort_values([*keys.columns, "_filled", "_order"], kind="stable")
    drop = ranked.index[ranked.duplicated(list(keys.columns), keep="first").to_numpy()]
    keep[drop.to_numpy()] = False
    return keep


def normalize(
    raw_events: pd.DataFrame | Iterable[Mapping],
    tz: str | None = None,
    source: str | None = None,
    where: str | None = None,
) -> pd.DataFrame:
    """Turn raw scans into the events table: filled in, deduplicated, sorted and validated.

    ``tz`` is the zone of local times given without offset (default: each carrier's
    zone); ``source`` names the origin of rows that do not say; ``where`` names the
    input in error messages. Row numbers in errors are 1-based, or the input's
    ``_line`` values when it has that column. Characters no text can keep (lone
    surrogates, NUL and other control characters) are replaced with U+FFFD; how many is
    in ``attrs["text_replaced"]``.
    """
    df, replaced = _frame(raw_events, where)
    if df.empty and len(df.columns) == 0:
        return _empty_result()
    missing = [c for c in ("tracking_number", "description") if c not in df.columns]
    if missing:
        raise MissingColumnsError(missing, "events", where)
    if "time_utc" not in df.columns and "time_local" not in df.columns:
        err = MissingColumnsError(["time_utc", "time_local"], "events", where)
        err.what = "the events table has no time column: it needs 'time_utc' or 'time_local'"
        err.hint = "Add one: time_utc with an offset, or time_local in the carrier's local time"
        err.args = (err.message,)
        raise err
    lines = _line_numbers(df)

    number = _clean_number(df["tracking_number"]).mask(_blank(df["tracking_number"]))
    if number.isna().any():
        rows = lines[number.isna().to_numpy()].tolist()
        raise SchemaError(
            f"column 'tracking_number' is blank in row(s) {', '.join(map(str, rows[:10]))}"
            + (f" (and {len(rows) - 10} more)" if len(rows) > 10 else ""),
            where,
            "Every scan needs the number it was reported under; fill it in or remove the rows",
            columns=["tracking_number"],
            rows=rows,
        )
    parcel_id = _text(df, "parcel_id").str.strip().fillna(number)
    carrier = _carriers(df, number)

    leg = _text(df, "leg").str.strip().str.lower()
    _check_allowed(leg, "leg", LEGS, lines, where)
    leg = _legs(leg, carrier, number)

    description = df["description"].astype("string").fillna("")
    milestone = _text(df, "milestone").str.strip().str.lower()
    _check_allowed(milestone, "milestone", MILESTONES, lines, where)
    unclassified = milestone.isna()
    if unclassified.any():
        opinion = df[STATUS_COLUMN][unclassified] if STATUS_COLUMN in df.columns else None
        milestone[unclassified] = classify_many(
            description[unclassified], carrier[unclassified], opinion
        ).to_numpy()

    time_utc, time_local, assumed = _times(df, carrier, tz, lines, where)

    out = pd.DataFrame(
        {
            "parcel_id": parcel_id,
            "tracking_number": number,
            "carrier": carrier,
            "leg": leg,
            "time_utc": time_utc,
            "time_local": time_local,
            "tz_assumed": assumed.astype(bool),
            "location": _text(df, "location").fillna(""),
            "description": description,
            "raw_status": _text(df, "raw_status").fillna(""),
            "milestone": milestone,
            "source": _text(df, "source").str.strip().fillna(source or "unknown"),
        }
    )
    out = out.astype(EVENT_DTYPES)
    extras = [
        c
        for c in df.columns
        if c not in EVENT_DTYPES and c not in (LINE_COLUMN, STATUS_COLUMN, *LINK_COLUMNS)
    ]
    if extras:  # joined in one step: inserting columns one by one is quadratic in their number
        out = pd.concat([out, df[extras]], axis=1)

    linked_number, linked_carrier = _links(
        description, number, (milestone == "handed_over").fillna(False)
    )
    given_number = _clean_number(_text(df, "linked_number"))
    given_carrier = _text(df, "linked_carrier").str.strip().str.lower()
    out["linked_number"] = given_number.fillna(linked_number)
    out["linked_carrier"] = given_carrier.where(given_number.notna(), linked_carrier)

    order = np.arange(len(out))
    keep = _unique_scans(out, order)
    out, order = out[keep], order[keep]
    sort_keys = pd.DataFrame(
        {
            "parcel_id": out["parcel_id"].to_numpy(),
            "time_utc": out["time_utc"].dt.tz_localize(None).to_numpy(),
        }
    ).assign(order=order)
    ranked = sort_keys.sort_values(["parcel_id", "time_utc", "order"], kind="stable").index
    out = out.iloc[ranked.to_numpy()].reset_index(drop=True)
    out = validate_events(out, where)
    out.attrs[REPLACED_ATTR] = replaced
    return out


def _empty_result() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in EVENT_DTYPES.items()})
    for column in LINK_COLUMNS:
        out[column] = pd.Series(dtype="string")
    return out


def handover_links(events: pd.DataFrame) -> pd.DataFrame:
    """One row per (parcel_id, linked number): the domestic number a handover scan names."""
    columns = {
        "parcel_id": "string",
        "tracking_number": "string",
        "domestic_number": "string",
        "domestic_carrier": "string",
        "time_utc": UTC_DTYPE,
        "description": "string",
    }
    need = ("parcel_id", "tracking_number", "time_utc", "description")
    missing = [c for c in need if c not in events.columns]
    if missing:
        raise MissingColumnsError(missing, "events")
    if "linked_number" in events.columns:
        number = _clean_number(events["linked_number"])
        carrier = events.get("linked_carrier", pd.Series(pd.NA, index=events.index))
    else:
        handed = events["milestone"] == "handed_over" if "milestone" in events.columns else None
        number, carrier = _links(events["description"], events["tracking_number"], handed)
    rows = number.notna().to_numpy()
    links = pd.DataFrame(
        {
            "parcel_id": events["parcel_id"].to_numpy()[rows],
            "tracking_number": events["tracking_number"].to_numpy()[rows],
            "domestic_number": number.to_numpy()[rows],
            "domestic_carrier": np.asarray(carrier, dtype=object)[rows],
            "time_utc": events["time_utc"].to_numpy()[rows],
            "description": events["description"].to_numpy()[rows],
        }
    )
    links["time_utc"] = pd.to_datetime(links["time_utc"], utc=True)
    links = links.astype(columns)
    links = links.sort_values(["parcel_id", "time_utc"], kind="stable")
    links = links.drop_duplicates(["parcel_id", "domestic_number"], keep="first")
    return links.reset_index(drop=True)
