"""Training-only request grammar: frames × verbs × objects × politeness, per language.

The hand-written families in kk.py / ru.py / en.py are whole sentences; this grammar adds the
breadth a learner needs (the law's terms and their everyday synonyms, Kazakh case and verb
endings, word orders) without copying any validation family. Only the `train` split uses it.
"""

# ----- Russian -------------------------------------------------------------------------------
RU_OBJ = "{мои персональные данные|мои данные|все мои данные|мои личные данные|персональные данные обо мне|информацию обо мне|всю информацию обо мне|сведения обо мне|все сведения обо мне|мою персональную информацию}"
RU_OBJ_GEN = "{моих персональных данных|моих данных|моих личных данных|персональных данных|информации обо мне|сведений обо мне}"
RU_ACCOUNT = "{мой аккаунт|мою учётную запись|мой профиль|мой личный кабинет|мою регистрацию}"
RU_PLEASE = "{прошу|просим|убедительно прошу|настоятельно прошу|очень прошу|требую|прошу вас}"
RU_KIND = "{, пожалуйста,|, будьте добры,| пожалуйста|}"

RU = {
    "erasure": [
        RU_PLEASE + " {удалить|уничтожить|стереть|безвозвратно удалить|полностью удалить} " + RU_OBJ + "{| из ваших баз| из всех систем| без возможности восстановления}.",
        "{Удалите|Сотрите|Уничтожьте}" + RU_KIND + " " + RU_OBJ + ".",
        "{Хочу|Хотел бы|Хотела бы|Желаю}, чтобы вы {удалили|стёрли|уничтожили} " + RU_OBJ + ".",
        "{Можете|Могли бы вы|Вы можете} {удалить|стереть} " + RU_OBJ + "?",
        RU_PLEASE + " {удаления|уничтожения} " + RU_OBJ_GEN + ".",
        "{Удалите|Закройте|Удалите навсегда}" + RU_KIND + " " + RU_ACCOUNT + " {и все данные|вместе с данными|и всю информацию}.",
        RU_PLEASE + " удалить " + RU_ACCOUNT + ".",
        "Не храните больше " + RU_OBJ + ", {удалите их|прошу их удалить}.",
        "{Мне нужно|Прошу}, чтобы " + RU_OBJ + " были {удалены|уничтожены}.",
        "{Хочу удалить|Хочу стереть|Нужно удалить} " + RU_ACCOUNT + " и все свои данные.",
        RU_PLEASE + " прекратить хранение и удалить " + RU_OBJ + ".",
        "Требую {удалить|уничтожить} " + RU_OBJ + " в соответствии с законом о персональных данных.",
    ],
    "withdraw_consent": [
        "{Отзываю|Настоящим отзываю|Я отзываю|Этим письмом отзываю} {своё|моё|} согласие на {обработку|сбор и обработку|обработку и хранение} {персональных данных|моих персональных данных|моих данных}.",
        RU_PLEASE + " {принять|зарегистрировать|зафиксировать} отзыв {моего|} согласия на обработку {персональных данных|данных}.",
        "{Хочу|Хотел бы|Хотела бы|Желаю} отозвать {своё|моё} согласие{ на обработку данных| на обработку персональных данных|}.",
        RU_PLEASE + " считать {моё|} согласие на обработку {персональных данных|данных} отозванным.",
        "{Больше не даю|Не даю больше|Я больше не даю} согласия на обработку {моих данных|персональных данных}.",
        RU_PLEASE + " {аннулировать|отменить} {моё|} согласие на обработку {персональных данных|данных}.",
        "{Отзыв согласия|Заявление об отзыве согласия}: {прошу прекратить обработку моих данных|согласие на обработку персональных данных отзываю}.",
        "Согласие на обработку {моих персональных данных|персональных данных} {отзываю|больше не действует, отзываю его}.",
    ],
    "access": [
        RU_PLEASE + " {предоставить|сообщить|направить мне} {информацию|сведения} о том, какие {мои персональные данные|данные обо мне|мои данные} {вы обрабатываете|у вас хранятся|вы храните}.",
        "{Какие|Какие именно} {мои данные|данные обо мне|персональные данные} {у вас есть|вы храните|вы обрабатываете|хранятся у вас}?",
        "{Пришлите|Направьте|Вышлите|Отправьте}" + RU_KIND + " {копию|выгрузку|перечень} " + RU_OBJ_GEN + ".",
        RU_PLEASE + " {предоставить доступ к|ознакомить меня с} {моим персональным данным|моими персональными данными|моим данным}.",
        "{Хочу|Хотел бы|Хотела бы} {узнать|получить информацию}, {какие данные обо мне у вас есть|что вы обо мне храните|с какой целью обрабатываются мои данные|кому передавались мои данные}.",
        RU_PLEASE + " сообщить {цели обработки|источник получения|кому передавались} " + RU_OBJ_GEN + ".",
        "{Мне нужна|Прошу} {копия|выписка} всех {моих данных|данных обо мне}, которые {у вас есть|вы собрали}.",
        "{Что|Какую информацию} вы {храните|знаете|собрали} обо мне? {Прошу ответить.|Жду ответа.|}",
        "{Запрос на доступ|Прошу доступ} к {моим персональным данным|персональным данным}.",
    ],
    "restriction": [
        RU_PLEASE + " {заблокировать|приостановить обработку|ограничить обработку} " + RU_OBJ_GEN.replace("{моих", "{моих") + ".",
        RU_PLEASE + " заблокировать " + RU_OBJ + "{| до выяснения| на время проверки| временно}.",
        "{Приостановите|Заблокируйте|Остановите|Ограничьте}" + RU_KIND + " обработку " + RU_OBJ_GEN + "{|, но не удаляйте|, удалять не нужно}.",
        RU_PLEASE + " {временно|пока} не {использовать|обрабатывать} " + RU_OBJ + "{|, ничего не удаляя|, но и не удалять}.",
        "{Хочу|Прошу}, чтобы обработка " + RU_OBJ_GEN + " была {приостановлена|ограничена|заблокирована}.",
        "{Прекратите|Остановите} {использовать|обрабатывать} " + RU_OBJ + ", {но не удаляйте их|удалять ничего не надо|до моего решения}.",
        RU_PLEASE + " {блокирования|приостановления обработки} " + RU_OBJ_GEN + ".",
        "{Заморозьте|Заблокируйте} " + RU_OBJ + " {до дальнейшего уведомления|пока я не напишу снова|до конца проверки}.",
    ],
    "rectification": [
        RU_PLEASE + " {исправить|изменить|обновить|поправить|актуализировать} {мою фамилию|моё имя|мой адрес|мою дату рождения|мой номер телефона|мои данные|мой e-mail} {в ваших данных|в профиле|в базе|}.",
        "{Исправьте|Измените|Обновите|Поправьте}" + RU_KIND + " {мою фамилию|мой адрес|мою дату рождения|мой телефон|мои данные}: {правильно|верно|теперь} — <NEW_SURNAME>.",
        "{У меня сменилась|Я сменил(а)|Изменилась} фамилия{| после замужества| после развода}, {прошу обновить данные|внесите изменения|исправьте в профиле}.",
        "В {ваших данных|моём профиле|базе} {ошибка|неверно указана дата рождения|опечатка в фамилии|неправильный адрес}, {прошу исправить|исправьте, пожалуйста}.",
        RU_PLEASE + " {дополнить|обновить} мои данные: {новый адрес|новый номер телефона|новая фамилия} <ADDRESS>.",
        "{Мой адрес изменился|Я переехал(а)|Номер телефона сменился}, {обновите|исправьте|актуализируйте} {данные|сведения|запись}, пожалуйста.",
        RU_PLEASE + " внести {изменения|исправления} в {мои персональные данные|мои данные|сведения обо мне}.",
    ],
    "marketing_opt_out": [
        "{Отпишите|Уберите|Исключите}" + RU_KIND + " меня {из рассылки|от рассылки|из списка рассылки|от ваших рассылок|из рекламной рассылки}.",
        RU_PLEASE + " {больше не присылать|не отправлять|прекратить отправлять} мне {рекламу|рекламные письма|рекламные SMS|новости и акции|рассылку|уведомления об акциях}.",
        "{Не хочу|Больше не хочу|Не желаю} получать {вашу рассылку|рекламу|рекламные сообщения|SMS с акциями|письма с предложениями}.",
        "{Прекратите|Остановите|Хватит слать}" + RU_KIND + " {SMS-рассылку|рекламные SMS|e-mail рассылку|рекламные звонки|рассылку}.",
        "{Отказываюсь от|Прошу отписать меня от} {рассылки|рекламы|маркетинговых сообщений|новостной рассылки}.",
        "{Хочу отписаться|Как отписаться? Отпишите меня} от {рассылки|ваших писем|рекламы}.",
        "{Не присылайте|Не отправляйте} мне больше {рекламу|рассылку|SMS|письма с акциями}{, пожалуйста|}.",
    ],
}

# ----- Kazakh --------------------------------------------------------------------------------
KK_OBJ = "{дербес деректерімді|деректерімді|барлық деректерімді|жеке деректерімді|мен туралы ақпаратты|мен туралы мәліметтерді|барлық мәліметтерімді|жеке мәліметтерімді|менің дербес деректерімді|менің деректерімді}"
KK_OBJ_GEN = "{дербес деректерімнің|деректерімнің|мен туралы мәліметтердің|жеке деректерімнің}"
KK_ACCOUNT = "{аккаунтымды|профилімді|жеке кабинетімді|тіркелгімді|есептік жазбамды}"
KK_ASK = "{сұраймын|өтінемін|талап етемін|сұраймыз|сұрар едім}"
KK_POLITE = "{, өтінемін|, өтініш|шы|}"

KK = {
    "erasure": [
        KK_OBJ + " {жоюыңызды|өшіруіңізді|алып тастауыңызды|жойып беруіңізді} " + KK_ASK + ".",
        KK_OBJ + " {жойыңыз|өшіріңіз|жойыңыздар|өшіріңіздер|жойып жіберіңіз|өшіріп тастаңыз|алып тастаңыз}" + KK_POLITE + ".",
        KK_OBJ + " {жоюды|өшіруді|толық жоюды} " + KK_ASK + ".",
        KK_OBJ + " {жойғандарыңызды|өшіргендеріңізді} қалаймын.",
        KK_OBJ + " {жоюға|өшіруге} бола ма? {Соны сұраймын.|Өтінемін.|}",
        KK_ACCOUNT + " {жабуыңызды|жоюыңызды|өшіруіңізді} " + KK_ASK + ".",
        KK_ACCOUNT + " және барлық деректерімді {жойыңыз|өшіріңіз}" + KK_POLITE + ".",
        KK_OBJ_GEN + " {жойылуын|толық жойылуын|өшірілуін} " + KK_ASK + ".",
        "{Базаларыңыздан|Жүйелеріңізден|Сайттан} " + KK_OBJ + " {жойыңыз|өшіріңіз|алып тастаңыз}" + KK_POLITE + ".",
        "Бұдан былай " + KK_OBJ + " сақтамаңыз, {оларды жойыңыз|жойып жіберіңіз}.",
        "Заңға сәйкес " + KK_OBJ + " {жоюды|жоюыңызды} талап етемін.",
        "{Деректерімді жою туралы өтініш|Жою туралы өтінішім}: " + KK_OBJ + " {жойыңыз|өшіріңіз}.",
    ],
    "withdraw_consent": [
        "{Дербес деректерімді өңдеуге|Деректерімді жинауға және өңдеуге|Деректерімді өңдеуге} берген келісімімді {кері қайтарып аламын|кері аламын|қайтарып аламын|кері қайтарамын}.",
        "{Келісімімді|Берген келісімімді|Өңдеуге келісімімді} {кері қайтарып алуды|қайтарып алуды|кері қайтаруды} " + KK_ASK + ".",
        "{Дербес деректерді өңдеуге|Деректерімді өңдеуге} келісімімнен {бас тартамын|бас тартатынымды хабарлаймын}.",
        "{Келісімнің|Берген келісімімнің} күшін {жоюыңызды|жоюды} " + KK_ASK + ".",
        "Бұдан былай {деректерімді өңдеуге|дербес деректерімді өңдеуге} келісім {бермеймін|бермейтінімді хабарлаймын}.",
        "{Келісімімді кері қайтарып алғым келеді|Келісімімді қайтарып алғым келеді|Келісімімді кері алғым келеді}.",
        "{Келісімімді|Өңдеуге берген келісімімді} {кері қайтарылды|жарамсыз} деп {есептеңіз|есептеуіңізді сұраймын}.",
        "{Келісімді кері қайтарып алу туралы өтініш|Келісімді қайтарып алу}: {деректерімді өңдеуді тоқтатыңыз|келісімімді кері аламын}.",
    ],
    "access": [
        "{Менің|Мен туралы} қандай {дербес деректерім|деректерім|мәліметтерім|ақпарат} {сақталғанын|өңделетінін|бар екенін} {хабарлауыңызды|айтуыңызды|білгім келеді|жазуыңызды сұраймын}.",
        "{Дербес деректеріме|Деректеріме|Жеке деректеріме} қол жеткізуді {өтінемін|талап етемін|сұрар едім|сұраймыз}.",
        "{Дербес деректеріме|Деректеріме} қол жеткізуге {рұқсат беріңіз|мүмкіндік беріңіз|рұқсат етіңіз}" + KK_POLITE + ".",
        "{Деректерімнің|Дербес деректерімнің|Мен туралы мәліметтердің} {көшірмесін|тізімін|үзіндісін} {жіберіңіз|жіберіңізші|жіберуіңізді сұраймын|беруіңізді өтінемін}.",
        "{Мен туралы|Менің} қандай {деректер|мәліметтер|ақпарат} {бар|сақталған|жиналған}? {Хабарлаңыз.|Жауап беріңіз.|}",
        "{Деректерімді|Дербес деректерімді} {қандай мақсатта|не үшін} {өңдейтініңізді|пайдаланатыныңызды} {және кімге бергеніңізді|}{хабарлаңыз| білгім келеді}.",
        "{Деректерім|Мәліметтерім} {кімге берілгенін|қайдан алынғанын} {айтыңыз|хабарлаңыз}" + KK_POLITE + ".",
        "Сіздерде {сақталған|бар} {деректерімді|мәліметтерімді} көргім келеді, {жіберіңіз|көшірмесін беріңіз}.",
    ],
    "restriction": [
        KK_OBJ + " {бұғаттауыңызды|бұғаттауды|уақытша бұғаттауды} " + KK_ASK + ".",
        KK_OBJ + " {бұғаттаңыз|бұғаттап қойыңыз|уақытша бұғаттаңыз}" + KK_POLITE + ".",
        "{Деректерімді|Дербес деректерімді} өңдеуді {тоқтата тұрыңыз|тоқтатыңыз|шектеңіз|уақытша тоқтатыңыз}{, бірақ жоймаңыз|, жоюдың қажеті жоқ|}.",
        "{Деректерімді|Дербес деректерімді} өңдеуді {тоқтата тұруыңызды|шектеуіңізді|тоқтатуды} " + KK_ASK + ".",
        "{Деректерімді|Мәліметтерімді} {пайдаланбаңыз|өңдемеңіз|қолданбаңыз}, {бірақ жоймаңыз|жоюдың қажеті жоқ|келесі хатыма дейін}.",
        KK_OBJ_GEN + " өңделуін {тоқтата тұруды|шектеуді|бұғаттауды} " + KK_ASK + ".",
        "{Тексеріс біткенше|Мән-жайы анықталғанша|Уақытша} " + KK_OBJ + " {бұғаттаңыз|қолданбаңыз}.",
    ],
    "rectification": [
        "{Тегімді|Атымды|Мекенжайымды|Туған күнімді|Телефон нөмірімді|Деректерімді} {түзетуіңізді|өзгертуіңізді|жаңартуыңызды} " + KK_ASK + "{|: дұрысы — <NEW_SURNAME>}.",
        "{Тегімді|Мекенжайымды|Телефон нөмірімді} {түзетіңіз|өзгертіңіз|жаңартыңыз}" + KK_POLITE + ": {дұрысы|жаңасы} — <NEW_SURNAME>.",
        "{Тегім өзгерді|Мекенжайым өзгерді|Нөмірім ауысты|Тұрғылықты жерім өзгерді}, {деректерді жаңартыңыз|түзетіп қойыңыз|өзгерту енгізіңіз}" + KK_POLITE + ".",
        "{Деректерімде|Профилімде} {қате бар|қате жазылған|туған күнім қате}, {түзетіңіз|түзетуіңізді сұраймын}.",
        "{Деректерімді|Профилімді} {жаңа мекенжаймен|жаңа нөмірмен|жаңа поштаммен} толықтыруыңызды " + KK_ASK + ": <ADDRESS>.",
        "{Дербес деректеріме|Деректеріме} {өзгерту|түзету} енгізуді " + KK_ASK + ".",
    ],
    "marketing_opt_out": [
        "Мені {таратылымнан|жарнамалық таратылымнан|хабарлама таратудан|тарату тізімінен} {шығарыңыз|алып тастаңыз|өшіріңіз}" + KK_POLITE + ".",
        "Маған {жарнама|жарнамалық хаттар|жарнамалық SMS|акциялар туралы хабарламалар|жаңалықтар} {жібермеңіз|жібермеуіңізді сұраймын|бұдан былай жібермеңіз}.",
        "{Жарнама|Таратылым|Жарнамалық хабарламалар} алғым келмейді, {жазылымнан шығарыңыз|тоқтатыңыз}.",
        "{SMS-таратылымды|Жарнамалық қоңырауларды|Хат таратуды} {тоқтатыңыз|тоқтатуыңызды сұраймын}" + KK_POLITE + ".",
        "{Жарнама алудан|Таратылымнан|Жазылымнан} бас тартамын.",
        "{Жазылымнан шыққым келеді|Таратылымнан шыққым келеді}, {шығарыңыз|көмектесіңіз}.",
    ],
}

# ----- English -------------------------------------------------------------------------------
EN_OBJ = "{my personal data|my data|all my data|all my personal data|my personal information|all information about me|any data you hold about me|my details|everything you have on me}"
EN_ACCOUNT = "{my account|my profile|my user account|my registration}"
EN_PLEASE = "{Please|Kindly|I ask you to|I request that you|Could you please|Can you please|I'd like you to}"

EN = {
    "erasure": [
        EN_PLEASE + " {delete|erase|remove|permanently delete|destroy} " + EN_OBJ + "{| from your systems| from all databases| for good}.",
        "{Delete|Erase|Remove} " + EN_OBJ + "{, please|| now}.",
        "I {want|would like|need} you to {delete|erase|remove} " + EN_OBJ + ".",
        "I {request|demand|ask for} the {deletion|erasure|destruction} of " + EN_OBJ + ".",
        EN_PLEASE + " {close|delete} " + EN_ACCOUNT + " {and delete my data|along with all data|and erase everything}.",
        "{Please don't keep|Stop storing} " + EN_OBJ + " any longer; {delete it|erase it}.",
        "I want " + EN_ACCOUNT + " and " + EN_OBJ + " {deleted|erased|removed}.",
        "Under the personal data law I {demand|request} that you {delete|destroy} " + EN_OBJ + ".",
    ],
    "withdraw_consent": [
        "I {hereby |}{withdraw|revoke} my consent to the {processing|collection and processing|use} of {my personal data|my data|personal data}.",
        "{Please|Kindly} {register|record|accept} the withdrawal of my consent{ to data processing| to processing my personal data|}.",
        "I {want|would like|wish} to {withdraw|revoke|take back} my consent{ to the processing of my data| to data processing|}.",
        "{Please|Kindly} {treat|consider} my consent to data processing as {withdrawn|revoked}.",
        "I no longer {consent|give my consent} to {the processing of my data|you processing my personal data}.",
        "{Please|Kindly} {cancel|annul} my consent to {processing|the processing of my personal data}.",
        "{Consent withdrawal|Withdrawal of consent}: {I revoke my consent|please stop processing my data on the basis of my consent}.",
    ],
    "access": [
        EN_PLEASE + " {tell me|let me know|inform me} what {personal data|data|information} {you hold about me|you process about me|you have on me}.",
        "What {personal data|data|information} {do you hold|do you have|do you store|are you processing} about me?",
        EN_PLEASE + " {send|provide|give} me a copy of " + EN_OBJ + ".",
        "I {request|would like|want} access to {my personal data|the data you hold about me|my data}.",
        "I {want|would like} to know {why you process my data|who you shared my data with|where you got my data|what you store about me}.",
        EN_PLEASE + " {provide|send} {a copy|an export|a list} of all {my data|data you have about me}.",
        "{What do you know about me|What do you keep on file about me}? {Please answer.|I'd like a copy.|}",
        "{Subject access request|Data access request}: {please send me my data|I want to see what you hold}.",
    ],
    "restriction": [
        EN_PLEASE + " {block|suspend the processing of|restrict the processing of} " + EN_OBJ + "{| for now| until further notice}.",
        "{Block|Suspend|Freeze|Restrict} " + EN_OBJ + "{, please|| for now}{, but don't delete it|; no need to delete|}.",
        EN_PLEASE + " {stop|pause|halt} {processing|using} " + EN_OBJ + "{, but do not delete it| without deleting anything| until I contact you}.",
        "I {want|would like} the processing of " + EN_OBJ + " {suspended|restricted|blocked}.",
        "I {request|ask for} the {blocking|restriction} of " + EN_OBJ + ".",
        "{Don't use|Do not process} " + EN_OBJ + " {until further notice|until I say so|for the time being}, but keep it.",
    ],
    "rectification": [
        EN_PLEASE + " {correct|update|change|fix|amend} my {surname|name|address|date of birth|phone number|email address|details} {in your records|in my profile|}.",
        "{Correct|Update|Change|Fix} my {surname|address|date of birth|phone number} {please|}: {the correct one is|it is now} <NEW_SURNAME>.",
        "My {surname|address|phone number} {has changed|changed}{ after my marriage| after I moved|}; {please update|update} my {data|details|records}.",
        "There is {an error|a mistake|a typo} in my {data|profile|records}; {please correct it|fix it, please}.",
        EN_PLEASE + " add {my new address|my new phone number|my new email} to my {data|profile}: <ADDRESS>.",
        "{I moved|My number changed|I got married}; {please update|update} {my details|my records|my profile}.",
    ],
    "marketing_opt_out": [
        EN_PLEASE + " {unsubscribe me|remove me|take me off} {from your newsletter|from your mailing list|from marketing emails|from the list}.",
        EN_PLEASE + " {stop sending|don't send} me {ads|promotional emails|marketing messages|newsletters|SMS offers}.",
        "I {don't want|no longer want|do not wish} to receive {your newsletter|marketing emails|promotions|ads|SMS}.",
        "{Stop|Cancel|End} {the newsletter|the SMS campaign|marketing calls|these promotional emails}{, please|}.",
        "I {opt out of|unsubscribe from} {marketing|your newsletter|promotional messages|advertising}.",
        "{Unsubscribe|Remove me from the list}{, please|| now}.",
    ],
}

# People a sender may write for (review cases): frames with an <ACT> slot, and the act per kind
# in the third person.
RU_ON_BEHALF = [
    "{Пишу|Обращаюсь} от имени {моей мамы|моего отца|моего сына|моей дочери|моей жены|моего мужа|моего брата|моей сестры|моего клиента|моего доверителя|нашего сотрудника|моей бабушки}: прошу <ACT>.",
    "{Мой сын зарегистрировался у вас|Моя дочь оставила у вас свои данные|Мой ребёнок зарегистрировался без моего ведома|Мой несовершеннолетний сын оформил у вас профиль}; как {родитель|мать|отец} прошу <ACT>.",
    "По просьбе {супруги|супруга|матери|отца|клиента|коллеги} прошу <ACT>.",
    "{Моя мама не пользуется почтой|Мой отец попросил меня написать|Моя бабушка не умеет пользоваться интернетом|Мой брат сейчас за границей}, поэтому прошу <ACT>.",
    "{Я представитель|Я юрист|Я адвокат|Я законный представитель} {<OTHER>|клиента|гражданина <OTHER>}; прошу <ACT>.",
    "{Мой отец умер|Моя мать скончалась|Мой муж скончался|Моя жена умерла} в <YEAR> году; прошу <ACT>.",
]
RU_ACT = {
    "erasure": "{удалить|уничтожить} {его|её} {данные|персональные данные|аккаунт и данные}",
    "access": "{предоставить|прислать} {его|её} данные",
    "restriction": "{заблокировать|приостановить обработку} {его|её} данн{ые|ых}",
    "withdraw_consent": "{отозвать|считать отозванным} {его|её} согласие на обработку данных",
    "marketing_opt_out": "{исключить|убрать} {его|её} из рассылки",
}
KK_ON_BEHALF = [
    "{Анамның|Әкемнің|Ұлымның|Қызымның|Әйелімнің|Күйеуімнің|Ағамның|Әпкемнің|Клиентімнің|Сенім білдірушімнің|Қызметкеріміздің|Әжемнің} атынан жазып отырмын: <ACT> сұраймын.",
    "{Ұлым сіздерде тіркеліпті|Қызым деректерін қалдырыпты|Балам менің рұқсатымсыз тіркеліпті|Кәмелетке толмаған ұлым профиль ашыпты}; ата-анасы ретінде <ACT> сұраймын.",
    "{Жұбайымның|Анамның|Әкемнің|Клиенттің|Әріптесімнің} өтініші бойынша <ACT> сұраймын.",
    "{Анам поштаны қолданбайды|Әкем маған жазуды өтінді|Әжем интернетті білмейді|Ағам қазір шетелде}, сондықтан <ACT> сұраймын.",
    "{Мен <OTHER> өкілімін|Мен адвокатпын|Мен заңды өкілмін}; <ACT> сұраймын.",
    "{Әкем|Анам|Күйеуім|Әйелім} <YEAR> жылы қайтыс болды; <ACT> сұраймын.",
]
KK_ACT = {
    "erasure": "оның {деректерін|дербес деректерін|аккаунтын} {жоюыңызды|өшіруіңізді}",
    "access": "оның қандай деректері {сақталғанын хабарлауыңызды|бар екенін айтуыңызды}",
    "restriction": "оның деректерін {бұғаттауыңызды|өңдеуді тоқтатуыңызды}",
    "withdraw_consent": "оның келісімін {кері қайтарып алуды|жарамсыз деп есептеуді}",
    "marketing_opt_out": "оны таратылымнан {шығаруыңызды|алып тастауыңызды}",
}
EN_ON_BEHALF = [
    "I'm writing on behalf of my {mother|father|son|daughter|wife|husband|brother|sister|client|employee|grandmother}: please <ACT>.",
    "{My son signed up with you|My daughter left her details with you|My child registered without my knowledge|My underage son opened a profile}; as {a parent|the mother|the father} I ask you to <ACT>.",
    "At the request of my {spouse|mother|father|client|colleague}, please <ACT>.",
    "{My mom doesn't use email|My dad asked me to write|My grandmother is not online|My brother is abroad}, so please <ACT>.",
    "{I represent|I am the lawyer of|I am the legal representative of} {<OTHER>|my client}; please <ACT>.",
    "My {father|mother|husband|wife} passed away in <YEAR>; please <ACT>.",
]
EN_ACT = {
    "erasure": "{delete|erase} {his|her} {data|account and data|personal data}",
    "access": "{send me|provide} {his|her} data",
    "restriction": "{block|suspend the processing of} {his|her} data",
    "withdraw_consent": "{withdraw|cancel} {his|her} consent to processing",
    "marketing_opt_out": "remove {him|her} from the mailing list",
}

GRAMMAR = {"ru": RU, "kk": KK, "en": EN}
ON_BEHALF = {"ru": (RU_ON_BEHALF, RU_ACT), "kk": (KK_ON_BEHALF, KK_ACT), "en": (EN_ON_BEHALF, EN_ACT)}

# Mail that is not a request although it uses request words: how-to questions, negations,
# support about other things, questions about policy (training only).
NOT_A_REQUEST = {
    "ru": [
        "{Подскажите|Расскажите|Объясните}, {как|каким образом} можно {отозвать согласие|удалить аккаунт|заблокировать данные|получить копию данных}{, если понадобится|в будущем|}? {Пока ничего не прошу.|Сейчас ничего делать не нужно.|Просто интересуюсь.|}",
        "{Я не хочу|Я не прошу|Не нужно} {удалять|отзывать|блокировать} {свои данные|согласие|аккаунт}, {просто уточняю|это вопрос на будущее|хочу понять порядок}.",
        "{Удалите|Исправьте|Замените}, пожалуйста, {дубликат счёта|ошибку в акте|опечатку в договоре|старый файл презентации} №<TICKET>.",
        "{Моя карта заблокирована|Доступ к порталу заблокирован|Аккаунт менеджера заблокирован}, {помогите разобраться|что случилось?|когда разблокируют?}",
        "{Какой у вас срок хранения данных|Где опубликована ваша политика конфиденциальности|Кто у вас отвечает за защиту данных}? {Вопрос для нашего отдела комплаенса.|Для общего понимания.|}",
        "{Отправьте|Пришлите} {счёт|акт|договор|коммерческое предложение} на {почту бухгалтерии|мой адрес} до <DATE>.",
        "{Обновите|Исправьте} {приложение|сайт|форму оплаты}: {не работает кнопка входа|ошибка при оплате|страница не открывается}.",
        "{Коллеги|Добрый день}, {напоминаю о встрече|направляю материалы|согласуйте, пожалуйста, договор} {по проекту|к совещанию} <DATE>.",
    ],
    "kk": [
        "Қажет болса {келісімді қалай кері қайтаруға|аккаунтты қалай жоюға|деректерді қалай бұғаттауға|деректердің көшірмесін қалай алуға} болатынын {айтып жіберіңізші|түсіндіріңізші}? {Әзірге ештеңе сұрамаймын.|Қазір ештеңе істеудің қажеті жоқ.|Жай қызығып отырмын.|}",
        "{Мен деректерімді жоюды сұрамаймын|Келісімімді қайтарғым келмейді|Аккаунтымды бұғаттаудың қажеті жоқ}, {жай нақтылап отырмын|бұл болашаққа сұрақ|тәртібін түсінгім келеді}.",
        "№<TICKET> {шоттың телнұсқасын|актідегі қатені|шарттағы қатені} {жойыңызшы|түзетіңізші|ауыстырыңызшы}.",
        "{Картам бұғатталып қалды|Порталға кіру бұғатталды|Менеджердің аккаунты бұғатталды}, {көмектесіңізші|не болды?|қашан ашылады?}",
        "{Деректерді сақтау мерзімі қандай|Құпиялылық саясатыңыз қайда жарияланған|Деректерді қорғауға кім жауапты}? {Комплаенс бөліміміз үшін сұрақ.|Жалпы түсінік үшін.|}",
        "{Шотты|Актіні|Шартты|Коммерциялық ұсынысты} <DATE> дейін {бухгалтерия поштасына|менің поштама} жіберіңіз.",
        "{Қосымшаны|Сайтты|Төлем нысанын} {түзетіңіз|жөндеңіз}: {кіру батырмасы жұмыс істемейді|төлем кезінде қате шығады|бет ашылмайды}.",
        "Әріптестер, {жоба бойынша кездесуді еске саламын|материалдарды жіберемін|шартты келісіп беріңізші} <DATE>.",
    ],
    "en": [
        "{Could you tell me|Can you explain} how I {could withdraw consent|could delete my account|would block my data|would get a copy of my data}{ if I ever need to| in the future|}? {I'm not asking for anything now.|Nothing to do right now.|Just curious.|}",
        "I {don't want to|am not asking to} {delete my data|withdraw my consent|block my account}; {just checking|this is a question for later|I want to understand the process}.",
        "Please {delete|correct|replace} {the duplicate invoice|the error in the statement|the typo in the contract|the old presentation file} No. <TICKET>.",
        "{My card was blocked|Portal access is blocked|Our manager's account is locked}; {please help|what happened?|when will it be unlocked?}",
        "{How long do you retain data|Where is your privacy policy published|Who is your data protection officer}? {A question from our compliance team.|Just for general understanding.|}",
        "Please send the {invoice|statement|contract|proposal} to {our accounts mailbox|my address} by <DATE>.",
        "Please {fix|update} the {app|website|payment form}: {the login button does nothing|payment fails|the page won't load}.",
        "Colleagues, {a reminder about the project meeting|sending the materials|please approve the contract} on <DATE>.",
    ],
}
