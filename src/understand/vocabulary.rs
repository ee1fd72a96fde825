//! Cue phrases in Kazakh, Russian and English.
//!
//! Russian and Kazakh phrases are written in ordinary Cyrillic and folded at start-up with the
//! same normalisation as the mail (so they also match Kazakh Latin, Russian translit, keyboards
//! without Kazakh letters and lookalike letters). English phrases match the Latin view. A phrase
//! matches at the start of a word; a trailing `$` asks for a whole word.

use crate::domain::RequestKind::{self, *};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sig {
    /// A request of this kind, with a weight (3 strong phrase, 2 verb stem, 1 topic word).
    Kind(RequestKind, u8),
    /// A negated form of the kind's verb written as one word (Kazakh negative imperatives).
    NegKind(RequestKind),
    /// A negation word before a verb ("не", "not", "never").
    Neg,
    /// A negation after the verb ("не нужно", "not needed", "қажеті жоқ").
    PostNeg,
    /// "How do I …" questions: asking about a procedure, not asking for it.
    HowTo,
    /// The clause is hypothetical ("whether to", "before I decide").
    Hedge,
    /// The sender asks for something ("прошу", "please", "сұраймын").
    Plea,
    /// Acting for somebody else (lawyer, representative, power of attorney).
    Representative,
    /// Data of a family member or other person.
    ThirdParty,
    /// "I never asked for this."
    Dispute,
    /// Fraud, leak, theft, police.
    Incident,
    /// An unpaid invoice or a debt (law 94-V art. 8(2)).
    Debt,
    /// Keep the account / documents.
    Keep,
    /// A confirmation ("I confirm", "подтверждаю").
    Confirm,
    /// Business mail: sales, invoices, jobs, phishing, partnerships.
    Business(u8),
    /// A demand with no object ("stop it").
    Vague,
}

pub type Entry = (&'static str, Sig);

const K3: fn(RequestKind) -> Sig = |k| Sig::Kind(k, 3);
const K2: fn(RequestKind) -> Sig = |k| Sig::Kind(k, 2);
const K1: fn(RequestKind) -> Sig = |k| Sig::Kind(k, 1);

/// Cyrillic-view phrases (Russian and Kazakh).
pub fn cyrillic() -> Vec<Entry> {
    let mut v: Vec<Entry> = Vec::new();
    let mut add = |sig: Sig, words: &[&'static str]| v.extend(words.iter().map(|w| (*w, sig)));
    // withdraw consent
    add(
        K3(WithdrawConsent),
        &[
            "отзыв согласи",
            "отзыве согласи",
            "отзыва согласи",
            "отозвать согласи",
            "отозвать мое согласи",
            "отозвать свое согласи",
            "отзываю согласи",
            "отзываю свое",
            "отзываю мое",
            "отзываю ранее",
            "отзываю данное",
            "отзываю",
            "отозвано",
            "отозванным",
            "отзываем",
            "аннулировать согласи",
            "аннулирую согласи",
            "отказываюсь от согласи",
            "отказ от согласи",
            "не даю согласи",
            "не давал согласи",
            "не давала согласи",
            "больше не согласен",
            "больше не согласна",
            "келисимди кери кайтар",
            "келисимимди кери кайтар",
            "келисимди кайтарып ал",
            "келисимимди кайтарып ал",
            "кери кайтарып ал",
            "кери кайтару",
            "кери кайтарам",
            "келисимнен бас тарт",
            "келисимимнен бас тарт",
            "келисимимди жою",
            "келисимди жою",
            "келисимнин кушин жою",
            "келисим бермеимин",
            "келисимимди алып тастаимин",
        ],
    );
    add(K2(WithdrawConsent), &["отозвать", "отзыв$", "отзывать"]);
    // erasure
    add(
        K3(Erasure),
        &[
            "удалить мои",
            "удалите мои",
            "удалить мой",
            "удалите мой",
            "удалить аккаунт",
            "удалите аккаунт",
            "удалить учетн",
            "удалите учетн",
            "удаления аккаунт",
            "удаление аккаунт",
            "удалить все",
            "удалите все",
            "уничтожить",
            "уничтожьте",
            "уничтожени",
            "стереть",
            "сотрите",
            "забудьте меня",
            "право на забвение",
            "закрыть аккаунт",
            "закройте аккаунт",
            "закрыть мой аккаунт",
            "закройте мой аккаунт",
            "закрыть учетн",
            "закройте учетн",
            "удалите из",
            "удалить из",
            "аккаунтимди жою",
            "аккаунтимди жаб",
            "аккаунтин жаб",
            "аккаунтин жауып",
            "аккаунтимди жауып",
            "деректеримди жои",
            "деректеримди жою",
            "деректерин жою",
            "деректерди жою",
            "толик жою",
            "жоюинизди",
            "жоюларинизди",
            "жоюларинзди",
            "жоиип жибер",
            "жоиип таста",
            "ошириниз",
            "ошируинизди",
            "базадан алип таста",
            "базаларинан алип таста",
        ],
    );
    add(
        K2(Erasure),
        &[
            "удал",
            "уничтож",
            "жою",
            "жоиу",
            "жоиип",
            "жоиин",
            "жоиыныз",
            "ошир",
            "удаля",
        ],
    );
    // access
    add(
        K3(Access),
        &[
            "какие данные",
            "какие мои",
            "какие персональные",
            "какие именно",
            "какие сведения",
            "какая информация",
            "какую информацию",
            "какие у вас",
            "что вы храните",
            "что у вас хранится",
            "копию моих",
            "копию всех",
            "копия моих",
            "выгрузк",
            "выписк",
            "экспорт",
            "ознакомиться с",
            "кому передавали",
            "кому вы передавали",
            "кому передавались",
            "кому данные",
            "кому были переданы",
            "передавались ли",
            "передавали ли",
            "откуда у вас",
            "где вы взяли",
            "откуда вы взяли",
            "источник получения",
            "источники получения",
            "цели обработки",
            "цели и правовые",
            "сроки хранения",
            "хранятся ли",
            "доступ к моим",
            "журнал доступа",
            "какие третьи",
            "каким третьим",
            "предоставить информацию о",
            "предоставьте информацию о",
            "предоставить сведения",
            "кандаи деректер",
            "кандаи дербес",
            "кандаи жеке",
            "кандаи малимет",
            "кандаи акпарат",
            "коширмес",
            "кимге берилди",
            "кимге бердиниз",
            "кимге берилд",
            "каидан алд",
            "кандаи максатта",
            "акпарат беруинизди",
            "акпаратти беруинизди",
            "малимет беруинизди",
            "канша уакит сакталад",
            "деректерим бар",
            "деректерим сакталган",
            "не делаете с моими",
        ],
    );
    add(
        K2(Access),
        &["какие", "что именно", "какой информацией", "билгим келеди"],
    );
    // restriction
    add(
        K3(Restriction),
        &[
            "заблокир",
            "блокиров",
            "заморо",
            "приостанов",
            "ограничить обработку",
            "ограничение обработки",
            "ограничьте",
            "временно заблок",
            "не используйте мои",
            "не использовать мои",
            "бугатта",
            "бугаттау",
            "уакитша токтат",
            "токтата тур",
            "музда",
            "шектениз",
            "шектеуинизди",
        ],
    );
    add(
        K2(Restriction),
        &[
            "прекратить обработку",
            "прекратите обработку",
            "прекратить их",
            "прекратить сбор",
            "прекратить использ",
            "не передавать",
            "не передавайте",
            "ондеуди токтат",
            "ондемениз",
            "ондемеуинизди",
            "пайдаланбауинизди",
        ],
    );
    add(K1(Restriction), &["блок", "ограничит"]);
    // rectification
    add(
        K3(Rectification),
        &[
            "исправить",
            "исправьте",
            "исправлени",
            "внести изменени",
            "внесите изменени",
            "изменить мои",
            "изменить фамил",
            "смена фамил",
            "сменила фамил",
            "сменил фамил",
            "неверно указан",
            "ошибка в фамил",
            "ошибка в имени",
            "опечатк",
            "обновить мои",
            "обновите мои",
            "поменять номер",
            "заменить номер",
            "замените номер",
            "добавьте",
            "добавить отчество",
            "тузет",
            "озгерт",
            "ауыстыруларыниз",
            "ауыстыр",
            "жанарт",
            "кате жазил",
            "кате корсетил",
            "толиктир",
            "косип коиыныз",
            "сураимын тузет",
        ],
    );
    add(
        K2(Rectification),
        &[
            "исправ",
            "измени",
            "обнови",
            "корректир",
            "актуализ",
            "поменя",
            "замени",
        ],
    );
    // marketing
    add(
        K3(MarketingOptOut),
        &[
            "отпишите",
            "отписаться",
            "отписки",
            "отпиши",
            "отписать",
            "не присылать",
            "не присылайте",
            "не пишите мне",
            "не звоните",
            "не отправляйте",
            "больше не присылать",
            "больше не отправлять",
            "от рассылк",
            "рассылку",
            "рассылок",
            "исключите меня из",
            "уберите рекламу",
            "рекламу уберите",
            "жибермеуинизди",
            "жибермениз",
            "жибермеулеринизди",
            "жибермениздер",
            "таратилим",
            "жазилимнан",
            "шигарип тастаниз",
            "рекламу",
            "перестаньте присылать",
            "перестаньте слать",
            "перестанте слат",
            "хабарлама жибермеу",
        ],
    );
    add(
        K1(MarketingOptOut),
        &[
            "рассылк",
            "реклам",
            "акци",
            "промо",
            "спам",
            "смс",
            "sms",
            "уведомлени",
            "новост",
            "жарнама",
            "хабарлама",
            "жаналик",
            "акциялар",
        ],
    );
    // negative one-word forms (Kazakh)
    add(
        Sig::NegKind(Erasure),
        &[
            "жоима",
            "ошириме",
            "жоюдин кажети жок",
            "жоюдин керегi жок",
            "жоюдин кереги жок",
            "жоюга болмаид",
            "жоюдин кажет",
        ],
    );
    add(
        Sig::NegKind(WithdrawConsent),
        &["каитарип алмаимин", "каитармаимин", "кери каитармаимин"],
    );
    add(
        Sig::Neg,
        &[
            "не$",
            "нет$",
            "ни$",
            "ничего$",
            "без$",
            "никогда$",
            "ештенени$",
            "ешкандаи$",
        ],
    );
    add(
        Sig::PostNeg,
        &[
            "не нужно",
            "не надо",
            "не требуется",
            "не стоит",
            "не следует",
            "ничего не нужно",
            "недопустим",
            "ушин$",
            "кажети жок",
            "кереги жок",
            "кажет емес",
            "керек емес",
            "сурамаимин",
        ],
    );
    add(
        Sig::HowTo,
        &[
            "как$",
            "каким образом",
            "как мне",
            "как можно",
            "подскажите как",
            "калаи$",
            "кандаи жолмен",
            "что будет",
            "достаточно ли",
        ],
    );
    add(
        Sig::Hedge,
        &[
            "подумываю",
            "пока не решил",
            "если решу",
            "ойланип",
            "решаю",
        ],
    );
    add(
        Sig::Plea,
        &[
            "прошу",
            "требую",
            "просим",
            "хочу",
            "пожалуйста",
            "сураимин",
            "отинемин",
            "отиниш",
            "сураимиз",
            "заявлени",
            "требовани",
            "запрос",
            "сураныс",
        ],
    );
    add(
        Sig::Representative,
        &[
            "адвокат",
            "доверенност",
            "в интересах",
            "от имени моего",
            "от имени моей",
            "законный представитель",
            "законного представител",
            "представляю интересы",
            "моего доверител",
            "моему доверител",
            "сенимхат",
            "атинан",
            "зангер ретинде",
            "заны окили",
            "занды окили",
        ],
    );
    add(
        Sig::ThirdParty,
        &[
            "мой муж",
            "моя жена",
            "мой сын",
            "моя дочь",
            "моего сына",
            "моей дочери",
            "моей матери",
            "моего отца",
            "моя мама",
            "мой отец",
            "моя мать",
            "папа зарегистр",
            "мама зарегистр",
            "несовершеннолет",
            "его аккаунт",
            "ее аккаунт",
            "его данные",
            "ее данные",
            "по его",
            "по ее",
            "умер",
            "скончал",
            "покойн",
            "анам$",
            "анамнин",
            "акем$",
            "акемнин",
            "улим$",
            "улимнин",
            "кизим$",
            "кизимнин",
            "куиеуим",
            "аиелим",
            "балам$",
            "баламнин",
            "каитис бол",
            "оним аккаунт",
            "онин деректер",
            "онин аккаунт",
        ],
    );
    add(
        Sig::Dispute,
        &[
            "не отправлял",
            "не отправляла",
            "не подавал",
            "не подавала",
            "не просил",
            "не просила",
            "я не писал",
            "я не писала",
            "это не я",
            "не делал такого",
            "не делала такого",
            "сураган жокпин",
            "жиберген жокпин",
            "жибермегенмин",
        ],
    );
    add(
        Sig::Incident,
        &[
            "утечк",
            "мошенн",
            "полици",
            "украл",
            "укради",
            "взлом",
            "без моего ведома",
            "без моего видома",
            "слит",
            "алаяк",
            "урлап",
            "урланд",
            "бузип кир",
        ],
    );
    add(
        Sig::Debt,
        &[
            "задолженн",
            "неоплачен",
            "не оплачен",
            "долг$",
            "долг по",
            "карыз",
            "берешек",
            "толенбеген",
            "действующий договор",
            "договор еще действ",
        ],
    );
    add(
        Sig::Keep,
        &[
            "аккаунт оставьте",
            "оставьте аккаунт",
            "аккаунт пока не удаляйте",
            "сохраните аккаунт",
            "аккаунтимди калдир",
            "аккаунтимди сакта",
        ],
    );
    add(
        Sig::Confirm,
        &[
            "подтверждаю",
            "да, это я",
            "растаимин",
            "растаимин",
            "иа, растаимин",
        ],
    );
    add(
        Sig::Business(2),
        &[
            "предлагаем",
            "коммерческое предложение",
            "цена от",
            "стоимость",
            "прайс",
            "скидк",
            "сотрудничеств",
            "партнерств",
            "интеграц",
            "вакансия",
            "вакансии",
            "резюме",
            "туииндеме",
            "бос орн",
            "счет на оплату",
            "счет-фактур",
            "толемге шот",
            "шот-фактура",
            "оплату",
            "почтовый ящик",
            "ваш ящик",
            "пошта жашиги",
            "превысил лимит",
            "подтвердите учетную",
            "в течение 24 часов",
            "подтвердить сейчас",
            "базы данных",
            "базу данных",
            "купить",
            "telegram",
            "whatsapp",
            "вебинар",
            "приглашаем",
            "семинар",
        ],
    );
    add(
        Sig::Vague,
        &[
            "хватит",
            "прекратите это",
            "прекратите!",
            "достали",
            "токтатиниз!",
            "жетер",
        ],
    );
    v
}

/// Latin-view phrases (English).
pub fn latin() -> Vec<Entry> {
    let mut v: Vec<Entry> = Vec::new();
    let mut add = |sig: Sig, words: &[&'static str]| v.extend(words.iter().map(|w| (*w, sig)));
    add(
        K3(WithdrawConsent),
        &[
            "withdraw my consent",
            "withdraw consent",
            "withdraw the consent",
            "withdrawal of consent",
            "withdrawal of my consent",
            "withdraw any consent",
            "revoke my consent",
            "revoke consent",
            "revocation of consent",
            "revoking my consent",
            "i no longer consent",
            "no longer give consent",
            "i do not consent",
            "cancel my consent",
            "rescind my consent",
            "hereby withdraw",
            "withdrawing my consent",
        ],
    );
    add(
        K2(WithdrawConsent),
        &["withdraw", "revoke", "consent withdrawal"],
    );
    add(
        K3(Erasure),
        &[
            "delete my",
            "delete all",
            "delete the account",
            "delete your records",
            "erase my",
            "erase all",
            "erasure of my",
            "remove my data",
            "remove my personal",
            "remove my account",
            "remove me from your database",
            "close my account",
            "close my nlg",
            "close the account",
            "destroy my data",
            "forget me",
            "right to be forgotten",
            "wipe my",
            "purge my",
            "get rid of my",
            "account deletion",
            "deletion of my",
            "delete everything",
        ],
    );
    add(
        K2(Erasure),
        &["delete", "deletion", "erase", "erasure", "destroy"],
    );
    add(
        K3(Access),
        &[
            "what data",
            "what personal data",
            "what information",
            "what info",
            "which data",
            "what do you do with my",
            "what do you hold",
            "what you hold",
            "do you hold",
            "hold about me",
            "have on me",
            "have about me",
            "know about me",
            "copy of my",
            "copy of all",
            "subject access",
            "access request",
            "data export",
            "export of my",
            "export all",
            "who do you share",
            "shared with whom",
            "which partners",
            "where did you get",
            "where did you even get",
            "how did you get my",
            "recipients",
            "purposes of processing",
            "access to my data",
            "access to my personal",
            "what are you doing with my",
        ],
    );
    add(K2(Access), &["export", "which personal"]);
    add(
        K3(Restriction),
        &[
            "restrict the processing",
            "restrict processing",
            "restriction of processing",
            "restrict my",
            "block my",
            "block the account",
            "freeze my",
            "freeze the account",
            "suspend my",
            "suspend the processing",
            "suspend processing",
            "pause processing",
            "stop processing",
            "stop using my",
            "do not use my",
            "do not use it",
            "don't use my",
            "do not share",
            "don't share",
        ],
    );
    add(K2(Restriction), &["restrict", "freeze", "suspend", "block"]);
    add(
        K3(Rectification),
        &[
            "correct my",
            "correct it",
            "correct the",
            "rectify",
            "rectification",
            "update my",
            "change my",
            "fix my",
            "fix the",
            "amend my",
            "replace my",
            "typo",
            "misspelled",
            "misspelt",
            "is wrong",
            "wrong iin",
            "wrong name",
            "incorrect",
        ],
    );
    add(K2(Rectification), &["correct", "update", "change", "wrong"]);
    add(
        K3(MarketingOptOut),
        &[
            "unsubscribe",
            "stop sending",
            "stop emailing",
            "stop texting",
            "no more emails",
            "no more sms",
            "mailing list",
            "opt out of marketing",
            "opt-out of marketing",
            "remove me from the mailing",
            "remove me from your mailing",
            "stop the newsletter",
            "promos are not needed",
            "no promo",
        ],
    );
    add(
        K1(MarketingOptOut),
        &[
            "newsletter",
            "marketing",
            "promo",
            "promotional",
            "advertis",
            "spam",
            "sms",
        ],
    );
    add(
        Sig::Neg,
        &[
            "not$", "dont$", "never$", "no$", "without$", "nothing$", "doesnt$", "didnt$",
        ],
    );
    add(
        Sig::PostNeg,
        &["not needed", "not necessary", "is not required", "no need"],
    );
    add(
        Sig::HowTo,
        &[
            "how do i",
            "how can i",
            "how to",
            "what happens if",
            "is it enough",
        ],
    );
    add(
        Sig::Hedge,
        &[
            "whether",
            "before i decide",
            "if i decide",
            "thinking about",
            "considering",
        ],
    );
    add(
        Sig::Plea,
        &[
            "please",
            "i want",
            "i would like",
            "i'd like",
            "i request",
            "i hereby",
            "kindly",
            "i demand",
            "i ask",
            "i am making",
            "request",
        ],
    );
    add(
        Sig::Representative,
        &[
            "on behalf of",
            "power of attorney",
            "my client",
            "lawyer",
            "attorney",
            "legal representative",
            "representing",
            "solicitor",
        ],
    );
    add(
        Sig::ThirdParty,
        &[
            "my husband",
            "my wife",
            "my son",
            "my daughter",
            "my mother",
            "my father",
            "my mom",
            "my dad",
            "my child",
            "my late",
            "passed away",
            "deceased",
            "his account",
            "her account",
            "his data",
            "her data",
        ],
    );
    add(
        Sig::Dispute,
        &[
            "never sent",
            "never asked",
            "never requested",
            "never made",
            "did not request",
            "didnt request",
            "did not send",
            "didnt send",
            "not me",
            "i did not ask",
            "didnt ask",
        ],
    );
    add(
        Sig::Incident,
        &[
            "leak",
            "fraud",
            "stolen",
            "hacked",
            "police",
            "without my knowledge",
            "signed in my name",
        ],
    );
    add(
        Sig::Debt,
        &[
            "unpaid",
            "outstanding invoice",
            "overdue",
            "i owe",
            "debt",
            "active contract",
        ],
    );
    add(Sig::Keep, &["keep my account", "keep the account"]);
    add(
        Sig::Confirm,
        &[
            "i confirm",
            "yes, i confirm",
            "confirmed",
            "it was me",
            "sent by me",
        ],
    );
    add(
        Sig::Business(2),
        &[
            "companies like yours",
            "would you be open",
            "minute call",
            "my calendar",
            "book a demo",
            "schedule a call",
            "we offer",
            "our solution",
            "our platform",
            "pricing",
            "discount",
            "partnership",
            "revenue share",
            "reseller",
            "invoice",
            "vacancy",
            "resume",
            "curriculum vitae",
            "job opening",
            "your mailbox",
            "verify your account",
            "password",
            "privacy policy",
            "we're updating",
            "webinar",
            "prefer not to hear from me",
        ],
    );
    add(
        Sig::Vague,
        &["stop it", "stop this", "enough$", "leave me alone"],
    );
    v
}
