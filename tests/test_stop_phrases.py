"""Every way of saying stop (SPEC "Compliance in code"): a text that plainly asks to stop opts out, one that
only contains the word does not. Written before bot/stop_phrases.py."""

from __future__ import annotations

import pytest

from bot.stop_phrases import asks_to_stop

ASKS_TO_STOP = [
    # English: the bare word with polite words and punctuation
    "Stop. Thank you",
    "stop please",
    "Please stop",
    "STOP!!!",
    "Stop.",
    "stop thanks",
    "Thanks, stop",
    "ok stop",
    "pls stop",
    "Stop stop stop",
    "stop it",
    "Stop now",
    "Stop, wrong number",
    "Wrong number. Stop",
    # English: stop texting / messaging
    "please stop texting me",
    "stop texting me",
    "Stop texting me!",
    "stop texting",
    "stop messaging me",
    "Stop sending me texts",
    "stop sending me messages",
    "stop sending texts please",
    "stop txting me",
    "stop msging me",
    "stop contacting me",
    "Stop spamming me",
    "stop all texts",
    "Stop all messages",
    "quit texting me",
    "Quit sending me texts",
    "I already paid. Stop texting me",
    "Please stop texting this number",
    "stop sending these texts",
    "stop the texts",
    "Stop these messages",
    # English: unsubscribe / opt out / remove
    "unsubscribe me",
    "Unsubscribe me please",
    "please unsubscribe",
    "Unsubscribe!",
    "opt me out",
    "opt-out",
    "opt out please",
    "I want to opt out",
    "I would like to unsubscribe",
    "I'd like to opt out",
    "remove me",
    "Please remove me from your list",
    "remove me from this list",
    "take me off your list",
    "Take me off the list please",
    "cancel my subscription",
    "end texts",
    # English: no more / don't text me
    "no more texts",
    "No more messages please",
    "no more text messages",
    "no more texts!",
    "do not text me",
    "Don't text me again",
    "dont text me anymore",
    "don't message me anymore",
    "do not contact me",
    "I don't want these texts",
    "I don't want any more texts",
    "I no longer want these texts",
    "leave me alone",
    # Spanish
    "PARAR",
    "BAJA",
    "ALTO",
    "Alto, gracias",
    "Baja por favor",
    "BAJA.",
    "basta",
    "Basta de mensajes",
    "no más mensajes",
    "No mas mensajes",
    "No más textos por favor",
    "cancelar suscripción",
    "Cancelar suscripcion",
    "cancelar mi suscripción",
    "darme de baja",
    "dar de baja",
    "Quiero darme de baja",
    "deseo darme de baja",
    "por favor no me envíen más mensajes",
    "no me manden más mensajes",
    "No me escriban más",
    "dejen de enviarme mensajes",
    "deje de mandarme mensajes",
    "dejen de escribirme",
    "ya no quiero recibir mensajes",
    "no quiero más mensajes",
    "ya no me envíen mensajes",
    "detener",
    "Detener mensajes",
    "parar mensajes",
    "desuscribir",
    "desuscribirme",
    "sáquenme de la lista",
    "eliminarme de la lista",
]

DOES_NOT = [
    # English: the word, meaning something else
    "can you stop at the gate?",
    "stop by at noon",
    "don't stop",
    "stop by the house",
    "please stop at the gate",
    "Stop at the second driveway",
    "where do you stop?",
    "the truck can stop here",
    "Stop the truck at the back",
    "when will you stop by",
    "I'll stop by later",
    "non-stop",
    "There's a bus stop out front",
    "stop sign on the left",
    "we stopped by yesterday",
    "stopping by at 3",
    "Stop! Wrong driveway",
    "please don't stop texting me updates",
    "don't stop texting me",
    "I'll stop texting you now",
    "no more than 3 days please",
    "more texts please",
    "can you stop the dumpster by the garage",
    "stop before the mailbox",
    "Stop there",
    "You can stop at the curb",
    "did the driver stop?",
    "the rain should stop soon",
    "Stop 2 on your route?",
    "Don't stop until the end of the driveway",
    "stop the trailer on the grass",
    "when does the pickup stop",
    "Is there a stop fee?",
    "remove the trailer please",
    "remove the dumpster tomorrow",
    "take the trailer off the lawn",
    "cancel my order",
    "cancel job 1042",
    "can you cancel tomorrow's delivery",
    "I want to cancel",
    "no more room in the trailer",
    "no more trash to add",
    "text me when you're close",
    "please text me the total",
    "what is this",
    "thank you",
    "ok",
    "leave the trailer by the gate",
    "leave it in the alley",
    "opt for the bigger trailer",
    "the end of the street",
    "quit early today?",
    "is it the end of the road?",
    # Spanish: the word, meaning something else
    "¿puede parar en la puerta?",
    "para mañana",
    "para las 3",
    "alto de la colina",
    "baja la caja aquí",
    "el camión está en la parte alta",
    "no más de dos días",
    "para en la entrada",
    "cancelar el pedido",
    "basta con dejarlo en la entrada",
    "déjenlo en la entrada",
    "la casa de alto",
    "gracias",
    "no más basura",
]


@pytest.mark.parametrize("text", ASKS_TO_STOP)
def test_a_text_that_plainly_asks_to_stop(text):
    assert asks_to_stop(text)


@pytest.mark.parametrize("text", DOES_NOT)
def test_a_text_that_only_contains_the_word(text):
    assert not asks_to_stop(text)


def test_the_tables_are_big_enough_and_apart():
    assert len(ASKS_TO_STOP) >= 60 and len(DOES_NOT) >= 60
    assert not set(ASKS_TO_STOP) & set(DOES_NOT)


@pytest.mark.parametrize("text", ["", "   ", "...", "🛑", "stop" * 400, "s\u0000top", "\ud800"])
def test_junk_is_not_a_request(text):
    assert asks_to_stop(text) is False
