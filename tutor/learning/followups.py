"""How `tutor chat` reads a follow-up: a question that names no topic of its own is about the last one.

"and a gru?" after "what is an lstm?" asks the last question again of its new subject ("what is a gru?"), in the
place of the words of that question closest to it in meaning (an idea the companion names first); "and for audio
data?" asks it again with the new condition; "how is it computed?" names the topic for its pronoun; "what's the
catch?" is asked of the topic.
"""

from __future__ import annotations

import re

_FOLLOW_UP = re.compile(r"^\s*(and|but|so|then|also|what about|how about|what if|why not|why|how|at|in|during|"
                        r"is it|does it|can it|is that|does that|ok|okay)\b", re.I)
_PRONOUN = re.compile(r"\b(it|its|this|that|these|those|they|them|their|one|ones)\b", re.I)
_IT = re.compile(r"\b(it|this|that)\b(?!\s+(is|was|the|a|an)\b)", re.I)  # the pronoun that stands for the topic
_ITS = re.compile(r"\bits\b", re.I)
_PARALLEL = re.compile(r"^\s*(and|but|also|what about|how about|now)\s+(?P<rest>[^?]{1,60}?)\s*\??\s*$", re.I)
_VERB = re.compile(r"\b(is|are|was|were|do|does|did|can|could|should|would|will|happens?|works?|used?|means?|"
                   r"helps?|fix(es)?|it|its|they|that|this|what|why|how|when|where|which|who)\b", re.I)
_CONDITION = re.compile(r"^(for|at|in|on|during|with|without|after|before|when|if|under|over)\b", re.I)
SAME_ROLE = 0.25  # how close in meaning a follow-up's subject is to the words of the last question it replaces
NAMED = 0.15  # words of the last question that name an idea of the companion are what a new subject replaces
SAME_QUALITY = 0.5  # how close in meaning a word of the last question is to a follow-up's quality ("high" / "low")


def read_follow_up(question: str, topic: str, previous: str) -> str:
    """The question as it is meant after the last `topic` (and the `previous` question, as it was read)."""
    if not topic:
        return question
    from tutor.llms.compose import content_words

    own = [w for w in content_words(question) if not _PRONOUN.fullmatch(w)]
    topic_words = set(content_words(topic))
    parallel = _PARALLEL.match(question)
    if parallel and previous and not _VERB.search(parallel["rest"]):
        again = _ask_again(previous, parallel["rest"].strip())
        if again:
            return again
    pronoun = bool(_PRONOUN.search(question))
    if _names_an_idea(question) and not pronoun:
        return question  # "what is an lstm?" is a question of its own, whatever came before
    short = (len(own) <= 3 or pronoun) and (bool(_FOLLOW_UP.match(question)) or pronoun or len(own) <= 1
                                           or not _names_an_idea(question))
    if short and not topic_words & set(own):
        named = _IT.sub(topic.lower(), question, count=1)  # "what happens without it?"
        if named == question:
            named = _ITS.sub(f"{topic.lower()}'s", question, count=1)  # "what are its limits?"
        return named if named != question else f"{question} (about {topic})"
    return question


def new_subject(question: str) -> str:
    """The new subject of a parallel follow-up ("and the decoder?", "what about a gru?"), or "" (none, or the same
    thing with another quality: "and a low one?", "what about a low value like 0.2?")."""
    parallel = _PARALLEL.match(question)
    if not parallel or _VERB.search(parallel["rest"]) or _OTHER_OF.match(_bare(parallel["rest"].strip())):
        return ""
    return parallel["rest"].strip()


def _ask_again(previous: str, subject: str) -> str:
    """The previous question asked again: with a new condition added ("and for audio data?"), or of a new
    subject in the place of the words of the question closest to it in meaning ("what is an lstm?", "and a
    gru?" -> "what is a gru?"; "what does the encoder do in a seq2seq model?", "what about the decoder?")."""
    from tutor.knowledge.companion import course_companion
    from tutor.llms.compose import STOPWORDS
    from tutor.tools.notes import shared_retriever

    stem = previous.split(" (about ", 1)[0].rstrip(" ?")
    if _CONDITION.match(subject):
        return f"{stem} {subject}?"
    words = list(re.finditer(r"[\w'-]+", stem))
    other = _OTHER_OF.match(_bare(subject))
    if other:  # "and a low one?", "what about a low value like 0.2?": the same thing with another quality
        return _other_kind(stem, words, other["quality"], other["rest"].strip())
    spans = [(a, b) for a in range(len(words)) for b in range(a, min(a + 5, len(words)))
             if words[a][0].lower() not in STOPWORDS and words[b][0].lower() not in STOPWORDS]
    if not spans:
        return ""
    texts = [stem[words[a].start():words[b].end()] for a, b in spans]
    vectors = shared_retriever().store.embedder([_bare(subject), *texts])
    named = {n.lower() for e in course_companion().match(stem) for n in e.names}
    closeness = [float(vectors[0] @ vectors[i + 1]) - 0.01 * (b - a) + (NAMED if texts[i].lower() in named else 0.0)
                 for i, (a, b) in enumerate(spans)]
    best = max(range(len(spans)), key=closeness.__getitem__)
    if closeness[best] < SAME_ROLE:  # "a low value like 0.2" takes the place of nothing in "what does temperature do?"
        return f"{stem}, for {_bare(subject)}?" if not _CONDITION.match(subject) else f"{stem} {subject}?"
    a, b = spans[best]
    start = words[a].start()
    article = re.search(r"\b(a|an|the)\s+$", stem[:start], re.I)
    if article and re.match(r"(a|an|the)\s", subject, re.I):
        start = article.start()
    return f"{stem[:start]}{subject}{stem[words[b].end():]}?"




# "a low one", "a high value like 0.9", "smaller ones": a quality and a word that stands for the thing asked about
_OTHER_OF = re.compile(r"^(?P<quality>[\w-]+)\s+(?:ones?|values?|settings?|levels?)\b(?P<rest>.*)$", re.I)


def _other_kind(stem: str, words: list, quality: str, rest: str) -> str:
    """The previous question of the same thing with another quality: in place of its word closest in meaning to the
    quality ("what does a high nms threshold do?", "a low one": "what does a low nms threshold do?"), else before the
    idea it names ("what does temperature control?", "a low value like 0.2": "what does low temperature control,
    like 0.2?")."""
    from tutor.knowledge.companion import course_companion
    from tutor.llms.compose import STOPWORDS
    from tutor.tools.notes import shared_retriever

    tail = f", {rest}" if rest else ""
    single = [w for w in words if w[0].lower() not in STOPWORDS]
    if single:
        vectors = shared_retriever().store.embedder([quality, *[w[0] for w in single]])
        closeness = [float(vectors[0] @ vectors[i + 1]) for i in range(len(single))]
        best = max(range(len(single)), key=closeness.__getitem__)
        if closeness[best] >= SAME_QUALITY:
            w = single[best]
            return f"{stem[:w.start()]}{quality}{stem[w.end():]}{tail}?"
    for entry in course_companion().match(stem):
        for name in sorted(entry.names, key=len, reverse=True):
            m = re.search(rf"\b{re.escape(name)}", stem, re.I)
            if m:
                return f"{stem[:m.start()]}{quality} {stem[m.start():]}{tail}?"
    return f"{stem}, for a {quality} one{tail}?"


def _names_an_idea(question: str) -> bool:
    from tutor.knowledge.companion import course_companion

    return bool(course_companion().match(question))


def _bare(subject: str) -> str:
    return re.sub(r"^(a|an|the)\s+", "", subject, flags=re.I)
