"""What kind of answer a question asks for, and which of the reader's spans can be one.

"How many people visited the expo?" is answered by a number, never by "achten" (the eighth expo) or a name, however
well the passage around it fits the question; "how long did the call last?" by a time, never by "dritten Jahrestag"
(the third anniversary). ``fitting`` keeps, for a question that asks how many, how much or how long (in the
languages below), the spans that state a quantity: a digit, a number word ("sechs", "zehntausende", "ein Dutzend",
"two-thirds"), a word of amount ("mehrere", "keiner", "many"), and for how long also a unit of time ("eine Stunde",
"seit Jahrzehnten"). An ordinal ("dritten", "eighth") states none. A question that asks in a unit of time ("in
Minuten", "how many days") is answered in no other unit. Other questions keep every span.
"""
from __future__ import annotations

import re

from .read import Found
from .retrieve import Retrieval

DURATION_QUESTION = re.compile(
    r"(?i)\b(?:how\s+long|wie\s+lange?|combien\s+de\s+temps|cu[aá]nto\s+tiempo|quanto\s+tempo|"
    r"сколько\s+времени|jak\s+długo|ne\s+kadar\s+sür)|多久|多长时间")
QUANTITY_QUESTION = re.compile(  # how many / how much / how old; words that also mean "regarding" ("en cuanto a",
    # "per quanto riguarda") or "with" (Turkish "ile") only where they can only ask
    r"(?i)\b(?:how\s+(?:many|much|old)|wie\s*(?:viele?|alt)|combien|cuánt[oa]s?|cuant[oa]s|quant[ie]|quantos|"
    r"quantas|hoeveel|сколько|kaç)\b|^\W*(?:ile|quant[oa])\b|多少|几[个位名次年天]")
GERMAN_PARTS = r"ein|zwei|drei|vier|fünf|sech|sechs|sieb|sieben|acht|neun|zehn|elf|zwölf|zwanzig|zig|ßig|hundert|" \
               r"tausend|und"
NUMBER_WORDS = (  # whole words; a German number is a compound of GERMAN_PARTS ("einundzwanzig", "zehntausende")
    rf"(?!(?:ein|und)\b)(?:{GERMAN_PARTS})+|(?:{GERMAN_PARTS})*(?:hundert|tausend|dutzend)e?n?|"
    r"two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen|"
    r"(?:twen|thir|for|fif|six|seven|eigh|nine)ty|hundreds?|thousands?|dozens?|"
    r"deux|trois|quatre|cinq|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingt|trente|quarante|"
    r"cinquante|soixante|cents?|mille|"
    r"dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|doce|veint\w*|treinta|cuarenta|cincuenta|cien|cientos?|mil|"
    r"due|tre|quattro|sei|sette|otto|nove|dieci|venti|trenta|cento|"
    r"\w*milli(?:on|ard)\w*|\w*billi(?:on|ard)\w*|trillions?|mill[oó]n\w*|milion\w*|miliard\w*|"
    r"\w*(?:hälfte|drittel|viertel)\w*|half|halb\w*|thirds?|quarters?|moitié|tiers|mitad|metà|"  # fractions
    rf"(?!einfach)(?:{GERMAN_PARTS}|viel|mehr)+fache[nrs]?|(?:two|three|four|five|ten|hundred|many)fold|"
    r"twice|thrice|"
    r"kein\w*|null|none|zero|zéro|cero|mehrere\w*|einige\w*|wenig\w*|viel\w*|mehr|weniger|zahlreiche\w*|"  # amounts
    r"several|many|few|numerous|multiple|much|little|more|less|plusieurs|nombreu\w*|beaucoup|peu|varios|varias|"
    r"mucho|muchos|muchas|poco|pocos|alcuni|molto|molti|molte|много|мало|"
    r"один|одна|одного|два|две|двух|три|трёх|трех|четыре|четырёх|пять|пяти|шесть|шести|семь|семи|восемь|восьми|"
    r"девять|девяти|десять|десяти|\w+надцат[ьи]|двадцат[ьи]|тридцат[ьи]|сорок|сто|сотни|тысяч\w*|миллион\w*|"
    r"миллиард\w*|несколько")
STATES_QUANTITY = re.compile(rf"\d|\b(?:{NUMBER_WORDS})\b", re.IGNORECASE)
UNITS_OF_TIME = (  # the words of each unit, in the languages above
    r"sekunden?|seconds?|secondes?|segundos?|secondi|секунд\w*",
    r"minuten?|minutes?|minutos?|minuti|минут\w*",
    r"stunden?|hours?|heures?|horas?|ore|час|часа|часов",
    r"tage?n?|tages|days?|jours?|días?|giorn[oi]|дня|дней|день",
    r"wochen?|weeks?|semaines?|semanas?|settiman[ae]|недел\w+",
    r"monate?n?|monats|months?|mois|mes|meses|mes[ei]|месяц\w*",
    r"jahre?n?|jahres|years?|ans|années?|años?|ann[oi]|год\w*|лет",
    r"jahrzehnte?n?|decades?|décennies?|décadas?|decenni?|десятилети\w+",
    r"jahrhunderte?n?|jahrhunderts|century|centuries|siècles?|siglos?|secol[oi]|век\w*",
)
TIME_UNITS = "|".join(UNITS_OF_TIME)
ASKS_IN_UNIT = re.compile(  # "… in Minuten?", "how many days …": the unit the answer is asked in
    rf"(?i)\b(?:in|en|в|how\s+many|wie\s*viele?|combien\s+de|cu[aá]nt[oa]s|quant[ie]|сколько)\s+({TIME_UNITS})\b")
STATES_DURATION = re.compile(rf"{STATES_QUANTITY.pattern}|\b(?:{TIME_UNITS})\b", re.IGNORECASE)
KINDS = ((DURATION_QUESTION, STATES_DURATION), (QUANTITY_QUESTION, STATES_QUANTITY))  # the first that asks decides


def expected_answer(question: str) -> re.Pattern | None:
    """What a span must hold to answer the question (its kind's pattern), or None: any span may."""
    return next((states for asks, states in KINDS if asks.search(question)), None)


def other_units(question: str) -> re.Pattern | None:
    """The units of time other than the one the question asks its answer in ("Wie lange … in Minuten?", "how many
    days …"), or None: "Wenige Tage" is no answer in minutes."""
    asked = ASKS_IN_UNIT.search(question)
    if asked is None:
        return None
    others = [unit for unit in UNITS_OF_TIME if not re.fullmatch(unit, asked.group(1), re.IGNORECASE)]
    return re.compile(rf"\b(?:{'|'.join(others)})\b", re.IGNORECASE)


def fitting(found: list[Found], retrieval: Retrieval) -> list[Found]:
    """The spans that can answer what ``retrieval``'s question asks for (all of them, but for a question of
    quantity or duration: those that state one, in no other unit of time than one the question asks in)."""
    states = expected_answer(retrieval.question)
    if states is None:
        return found
    others = other_units(retrieval.question)
    texts = {f.passage: retrieval.snapshot.document_of(retrieval.rows[f.passage]).text for f in found}
    return [f for f in found if states.search(span := texts[f.passage][f.start:f.end])
            and not (others and others.search(span))]
