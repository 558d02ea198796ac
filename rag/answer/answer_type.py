"""What kind of answer a question asks for, and which of the reader's spans can be one.

"How many people visited the expo?" is answered by a number, never by "achten" (the eighth expo) or a name, however
well the passage around it fits the question; "how long did the call last?" by a time, never by "dritten Jahrestag"
(the third anniversary). ``fitting`` keeps, for a question that asks how many, how much or how long (in the
languages below), the spans that state a quantity: a digit, a number word ("sechs", "zehntausende", "ein Dutzend",
"two-thirds"), a word of amount ("mehrere", "keiner", "many"), and for how long also a unit of time ("eine Stunde",
"seit Jahrzehnten"). An ordinal ("dritten", "eighth") states none. Other questions keep every span.
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
TIME_UNITS = (
    r"sekunden?|minuten?|stunden?|tage?n?|tages|wochen?|monate?n?|monats|jahre?n?|jahres|jahrzehnte?n?|"
    r"jahrhunderte?n?|jahrhunderts|seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|century|centuries|"
    r"secondes?|heures?|jours?|semaines?|mois|ans|années?|décennies?|siècles?|segundos?|horas?|días?|semanas?|"
    r"mes|meses|años?|décadas?|siglos?|secondi|ore|giorn[oi]|settiman[ae]|mes[ei]|ann[oi]|decenni?|secol[oi]|"
    r"секунд\w*|минут\w*|час|часа|часов|дня|дней|день|недел\w+|месяц\w*|год\w*|лет|десятилети\w+|век\w*")
STATES_DURATION = re.compile(rf"{STATES_QUANTITY.pattern}|\b(?:{TIME_UNITS})\b", re.IGNORECASE)
KINDS = ((DURATION_QUESTION, STATES_DURATION), (QUANTITY_QUESTION, STATES_QUANTITY))  # the first that asks decides


def expected_answer(question: str) -> re.Pattern | None:
    """What a span must hold to answer the question (its kind's pattern), or None: any span may."""
    return next((states for asks, states in KINDS if asks.search(question)), None)


def fitting(found: list[Found], retrieval: Retrieval) -> list[Found]:
    """The spans that can answer what ``retrieval``'s question asks for (all of them, but for a question of
    quantity or duration)."""
    states = expected_answer(retrieval.question)
    if states is None:
        return found
    texts = {f.passage: retrieval.snapshot.document_of(retrieval.rows[f.passage]).text for f in found}
    return [f for f in found if states.search(texts[f.passage][f.start:f.end])]
