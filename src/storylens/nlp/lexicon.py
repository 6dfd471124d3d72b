"""Word lists the rules use: speech/cue verbs, pronouns, titles and role words, per language."""

from __future__ import annotations

import re


def _w(text: str) -> list[str]:
    return text.split()

EN_CUES = frozenset(_w("""
say tell add state claim argue note explain insist warn stress emphasize emphasise suggest report announce declare
write acknowledge admit assert contend maintain predict promise reply respond answer ask urge recall concede
confirm deny remark observe testify tweet post continue conclude comment express mention allege complain caution
reveal recount pledge vow estimate indicate point announce believe think speak reiterate repeat
describe charge contend counter joke quip boast lament muse predict propose recommend signal underline underscore
acknowledge affirm assure contend declare disclose inform notify protest question reckon retort shout told
demand wonder exclaim yell scold plead chide snap sigh disagree brag
"""))

# verbs of stance, intent and evidence whose object or infinitive is an attribution's content in news annotation
# (PolNeAR): "cited X", "called for X", "wants to X", "agreed to X", "a study found that X", "called X a Y"
EN_REPORT_VERBS = frozenset(_w("""
cite call want agree find show ask urge plan decide refuse reject question discuss mention demand support criticize
criticise attack blast liken document reveal learn seek endorse encourage accuse expect worry hope intend threaten
vow pledge promise propose recommend welcome praise condemn denounce blame dismiss defend oppose favor favour back
insist predict estimate tell warn order request invite challenge dispute
describe deny accuse admire fear mock tweet detail identify offer promote illustrate raise complain view label dub
brand deride slam tout highlight address reference specify proclaim hail sing announce report reveal confirm
acknowledge admit stress emphasize emphasise argue claim note express announce recommend
decline issue unleash invoke echo downplay embrace unveil rule recognize paint
"""))
# of those, the ones whose object alone is not content unless an infinitive follows ("told his aides to …")
EN_NEEDS_XCOMP = frozenset(_w("tell warn order ask urge encourage invite challenge request"))

# nouns whose "that"-clause is reported content ("his claim that …", "the warning that …")
EN_REPORT_NOUNS = frozenset(_w("""
claim statement assertion argument allegation suggestion warning belief promise pledge view insistence complaint
remark comment accusation charge proposal vow assurance contention conclusion finding prediction fear concern
admission acknowledgment acknowledgement announcement declaration report argument threat hope expectation
"""))

EN_CUE_NOUNS = frozenset(_w("statement remarks comments interview spokesman spokeswoman"))

EN_PRONOUNS = {"he": "m", "she": "f", "they": None, "him": "m", "her": "f", "i": None, "we": None}

TITLES = frozenset(_w("""
mr mrs ms miss dr sen senator rep representative gov governor president pres gen general lt col judge prof
professor rev sir lady lord mayor secretary speaker chairman chairwoman vice former st adm sgt capt cmdr chief
justice attorney sheriff pope king queen prince princess minister premier chancellor ambassador spokesman
spokeswoman spokesperson director head leader candidate nominee
"""))

# head words of role descriptions ("the port chief", "the authority secretary general")
ROLE_WORDS = frozenset(_w("""
secretary-general secretary general president minister chief head leader spokesman spokeswoman spokesperson
chairman chairwoman chair director governor senator mayor ambassador chancellor premier king queen prince
envoy commander official representative prosecutor judge adviser advisor nominee candidate boss ceo founder
secretary speaker
"""))
GENERIC_LEADERS = frozenset(_w("chief head leader boss"))
GENERIC_ORG_WORDS = frozenset(_w("alliance organization organisation bloc agency ministry party company group union"
                                 " council committee government administration country state"))

ORG_DESCRIPTORS = frozenset(_w("alliance bloc organization organisation agency union coalition"))
TREATY_WORDS = frozenset(_w("treaty agreement accord pact convention"))

FEMALE_TITLES = frozenset(_w("mrs ms miss madam lady spokeswoman chairwoman"))
MALE_TITLES = frozenset(_w("mr sir lord spokesman chairman king prince"))

# Russian: cue verbs by stem (заявил, заявила, заявляет ...), "по словам X"
RU_CUE = re.compile(
    r"^(заяв|сказа|отмет|подчеркн|подчёркив|подчеркив|добав|сообщ|поясн|призна|указа|указыв|уточн|замет|"
    r"написа|пиш|говор|счита|убежд|предупред|выраз|констатир|завер|обеща|напомн|рассказ|ответ|"
    r"утвержда|полага|уверен|сч[её]л|назва|объясн|возраз|посетова|предложи|призва|прокомментир|"
    r"высказа|оцени|опровер|сообща|признава|добавля|отмеча|заявля|говори)", re.IGNORECASE)
RU_PRONOUNS = {"он": "m", "она": "f", "они": None, "я": None, "мы": None}
RU_PRONOUNS_POSS = frozenset(_w("его её ее их мой наш"))
# Russian verbs of stance whose object, predicate or «к/за/против/о» phrase is reported content (lemmas):
# «назвал встречу полезной», «призвал Запад к диалогу», «отверг обвинения», «выступил против санкций»
RU_REPORT_VERBS = frozenset(_w("""
назвать называть призвать призывать отвергнуть отвергать опровергнуть опровергать потребовать требовать
пообещать обещать раскритиковать критиковать осудить осуждать приветствовать поддержать поддерживать
обвинить обвинять предложить предлагать одобрить одобрить высказаться выступить выступать пригрозить
грозить отказаться согласиться допустить допускать исключить исключать усомниться поблагодарить похвалить
упрекнуть охарактеризовать оценить расценить квалифицировать настаивать настоять
"""))
# nouns whose «что» clause is reported content: «заявление о том, что …», «его предупреждение, что …»
RU_REPORT_NOUNS = frozenset(_w("""
заявление утверждение слово мнение обещание предупреждение призыв обвинение требование оценка позиция версия
сообщение признание уверенность убеждение опасение надежда предположение прогноз вывод довод аргумент
"""))
RU_ROLE_WORDS = frozenset(_w("""
президент министр глава генсек генеральный секретарь представитель пресс-секретарь спикер председатель
директор губернатор мэр посол канцлер премьер премьер-министр лидер руководитель начальник командующий
официальный депутат сенатор советник помощник вице-премьер замминистра заместитель
"""))


def is_en_cue(lemma: str) -> bool:
    return lemma in EN_CUES


def is_ru_cue(lemma: str) -> bool:
    return bool(RU_CUE.match(lemma))
