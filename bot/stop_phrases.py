"""Every way of saying stop (SPEC "Compliance in code"): whether a whole text plainly asks for no more texts.

Twilio blocks only its exact keywords (STOP, UNSUBSCRIBE, ...); the FCC's rule
is that a consumer may revoke consent by "any reasonable means". So "please stop
texting me", "Stop. Thank you", "no more texts", "BAJA" or "no más mensajes"
opt out too, while a text that merely contains the word ("can you stop at the
gate?", "stop by at noon", "don't stop") is ordinary text for a person.

How: the text is cut into clauses at punctuation; polite words at a clause's
edges ("please", "thank you", "por favor", "gracias") are dropped. The text asks
to stop when one clause is an explicit request ("stop texting me", "unsubscribe
me", "dejen de enviarme mensajes"), wherever it stands, or when a clause is a
bare stop word ("stop", "parar", "baja", "alto") and every other clause is only
polite or says "wrong number" ("Stop! Wrong driveway" is for the driver).
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 320  # a request to stop is short; a long text is for a person to read

_POLITE = (
    r"please|pls|plz|kindly|thanks|thank you|thankyou|thx|ty|hi|hello|hey|ok|okay|sorry|"
    r"por favor|porfa|muchas gracias|gracias|hola|ya"
)
_EDGES = re.compile(rf"^(?:(?:{_POLITE})\s+)*(.*?)(?:\s+(?:{_POLITE}))*$")
_ONLY_POLITE = re.compile(rf"(?:(?:{_POLITE})\s*)*")
_NEUTRAL = re.compile(r"(?:you have the |this is the |this is a |)wrong number|numero equivocado|se equivoco de numero")

# A clause that is only a stop word: counts when everything else in the text is polite.
_BARE = re.compile(
    r"(?:stop|stopall|unsubscribe|optout|opt out|parar|baja|alto|basta|detener|desuscribir(?:me)?)"
    r"(?: (?:it|now|all|ya|stop|parar|baja|alto|basta))*"
)

_TEXT_WORDS = r"texts?|messages?|text messages|msgs|sms|notifications|reminders|mensajes|textos"
_TEXTS = f"(?:{_TEXT_WORDS})"
_EXPLICIT = re.compile(
    "|".join(
        (
            # English
            r"(?:stop|quit) (?:texting|txting|messaging|msging|contacting|spamming|sending|calling)"
            r"(?: (?:me|us|this number|my number|my phone|these|the|your|any|more|anymore|now|already|again|"
            + _TEXT_WORDS
            + r"))*",
            rf"stop (?:all |these |the |your |sending )?{_TEXTS}(?: (?:to me|to this number|now))?",
            r"(?:i ?'?d like|i would like|i want|i wanna|i need|id like) to (?:unsubscribe|opt out|be removed|"
            rf"stop (?:getting|receiving) (?:these |your |the |any )?{_TEXTS})",
            rf"unsubscribe(?: me)?(?: from (?:this|these|your|the) (?:list|{_TEXT_WORDS}))?",
            rf"opt (?:me )?out(?: of (?:this|these|your|the) (?:list|{_TEXT_WORDS}))?",
            rf"remove me(?: from (?:this|your|the|ur) (?:list|text list|mailing list|contacts|{_TEXT_WORDS}))?",
            rf"(?:take|get) me off(?: (?:this|your|the|ur) (?:list|text list|{_TEXT_WORDS}))?",
            rf"cancel (?:my |the |these |your )?(?:subscription|{_TEXT_WORDS})",
            rf"end (?:the |these |all )?{_TEXTS}",
            rf"no more (?:texting|{_TEXT_WORDS})(?: (?:to me|to this number))?",
            r"(?:do not|don't|dont) (?:text|txt|message|msg|contact|sms) (?:me|this number)"
            r"(?: (?:again|anymore|any more|ever again))*",
            rf"i (?:don't|dont|do not) want (?:these|your|any more|anymore|any|more)(?: more)? {_TEXTS}(?: any ?more)?",
            rf"i no longer want (?:these |your |any )?{_TEXTS}",
            r"leave me alone",
            # Spanish (accents dropped)
            r"no mas (?:mensajes|textos|msjs|sms|mensajitos)",
            r"(?:cancelar|anular) (?:mi |la )?(?:suscripcion|subscripcion)",
            r"(?:quiero |deseo |quisiera )?(?:darme|dar|darnos) de baja"
            r"(?: de (?:la lista|los mensajes|sus mensajes|este servicio))?",
            r"no (?:me )?(?:envien|manden|escriban|mande|envie|escribas|mandes|envies|texteen)"
            r"(?: (?:mas|ya))*(?: (?:mensajes|textos|mensaje|texto))?(?: mas)?",
            r"(?:dejen|deje|deja|dejar|paren|pare|para|parar) de "
            r"(?:enviarme|mandarme|escribirme|textearme|enviar|mandar)(?: (?:mensajes|textos))?",
            r"no quiero (?:recibir )?(?:mas )?(?:mensajes|textos)(?: mas)?",
            r"(?:detener|parar|basta de|alto a) (?:los |sus )?(?:mensajes|textos)",
            r"(?:sacame|saquenme|eliminarme|eliminenme|borrarme|borrenme|quitenme|quitarme) de "
            r"(?:la|su|esta|sus) listas?",
        )
    )
)
_CLAUSE_BREAKS = re.compile(r"[.!?,;:¡¿…\n]+")
_NOT_A_WORD = re.compile(r"[^a-z0-9' ]+")


def asks_to_stop(text: str) -> bool:
    """Whether the whole of `text` plainly asks for no more texts (English or Spanish)."""
    if len(text) > MAX_CHARS:
        return False
    clauses = [_clause(part) for part in _CLAUSE_BREAKS.split(_plain(text))]
    clauses = [clause for clause in clauses if clause]
    if any(_EXPLICIT.fullmatch(clause) for clause in clauses):
        return True
    bare = [clause for clause in clauses if _BARE.fullmatch(clause)]
    return bool(bare) and all(_BARE.fullmatch(c) or _NEUTRAL.fullmatch(c) for c in clauses)


def _plain(text: str) -> str:
    """Lower case, accents off ("más" -> "mas"), curly apostrophes straight, hyphens as spaces ("opt-out")."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("-", " "))
    if not decomposed.isascii():  # no combining mark is ASCII: most texts skip the walk, char by char
        decomposed = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return decomposed.lower()


def _clause(part: str) -> str:
    """One clause's words, single-spaced, without the polite words at its edges ("" if it was only those)."""
    words = " ".join(_NOT_A_WORD.sub(" ", part).split())
    if _ONLY_POLITE.fullmatch(words):
        return ""
    found = _EDGES.fullmatch(words)
    return found[1] if found else words
