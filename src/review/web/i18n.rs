//! Console strings in Russian and English, with Kazakh for the welcome, statuses and the main
//! decisions (other Kazakh strings fall back to Russian). The language comes from `?lang=`,
//! then the `dsr_lang` cookie, then `Accept-Language`, then Russian.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
    Kk,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
            Lang::Kk => "kk",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().get(..2)? {
            "ru" => Some(Lang::Ru),
            "en" => Some(Lang::En),
            "kk" => Some(Lang::Kk),
            _ => None,
        }
    }

    /// First supported language of an `Accept-Language` header (in the order given).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        header
            .split(',')
            .filter_map(|part| Lang::parse(part.split(';').next().unwrap_or("")))
            .next()
    }

    pub fn t(self, key: &str) -> &'static str {
        let Some(&(_, en, ru, kk)) = STRINGS.iter().find(|(k, ..)| *k == key) else {
            return "?";
        };
        match self {
            Lang::En => en,
            Lang::Ru => ru,
            Lang::Kk if !kk.is_empty() => kk,
            Lang::Kk => ru,
        }
    }

    /// A label for a machine value (`kind.erasure`, `status.needs_review`); the value itself
    /// when there is none.
    pub fn label<'a>(self, prefix: &str, value: &'a str) -> std::borrow::Cow<'a, str> {
        let key = format!("{prefix}.{value}");
        if STRINGS.iter().any(|(k, ..)| *k == key) {
            std::borrow::Cow::Borrowed(self.t(&key))
        } else {
            std::borrow::Cow::Borrowed(value)
        }
    }
}

/// (key, English, Russian, Kazakh or "" for the Russian fallback)
const STRINGS: &[(&str, &str, &str, &str)] = &[
    (
        "app",
        "DSR review console",
        "Консоль проверки запросов",
        "Сұраныстарды тексеру консолі",
    ),
    ("welcome", "Welcome", "Добро пожаловать", "Қош келдіңіз"),
    ("login.title", "Sign in", "Вход", "Кіру"),
    ("login.email", "E-mail", "Эл. почта", "Эл. пошта"),
    ("login.password", "Password", "Пароль", "Құпиясөз"),
    ("login.submit", "Sign in", "Войти", "Кіру"),
    (
        "login.invalid",
        "Wrong e-mail or password.",
        "Неверная почта или пароль.",
        "",
    ),
    (
        "login.locked",
        "Too many failed attempts. The account is locked until",
        "Слишком много неудачных попыток. Учётная запись заблокирована до",
        "",
    ),
    ("logout", "Sign out", "Выйти", "Шығу"),
    ("nav.queue", "Queue", "Очередь", "Кезек"),
    ("nav.audit", "Audit log", "Журнал аудита", "Аудит журналы"),
    ("nav.staff", "Staff", "Сотрудники", "Қызметкерлер"),
    (
        "dash.received_today",
        "Received today",
        "Получено сегодня",
        "",
    ),
    ("dash.automated", "Automated", "Автоматически", ""),
    ("dash.flagged", "Flagged", "На проверке", ""),
    ("dash.overdue", "Overdue", "Просрочено", ""),
    (
        "dash.failed_store_tasks",
        "Failed store tasks",
        "Сбои задач хранилищ",
        "",
    ),
    (
        "dash.failed_emails",
        "Failed e-mails",
        "Неотправленные письма",
        "",
    ),
    (
        "queue.title",
        "Requests needing attention",
        "Запросы, требующие внимания",
        "",
    ),
    ("queue.all", "Requests", "Запросы", ""),
    ("queue.empty", "Nothing here.", "Здесь пусто.", ""),
    ("filter.status", "Status", "Статус", ""),
    ("filter.kind", "Kind", "Вид", ""),
    (
        "filter.attention",
        "Needs attention",
        "Требуют внимания",
        "",
    ),
    ("filter.all", "All", "Все", ""),
    ("filter.apply", "Filter", "Показать", ""),
    ("col.reference", "Reference", "Номер", ""),
    ("col.kind", "Kind", "Вид", ""),
    ("col.status", "Status", "Статус", ""),
    ("col.language", "Language", "Язык", ""),
    ("col.received", "Received", "Получен", ""),
    ("col.due", "Deadline", "Срок", ""),
    (
        "col.days_left",
        "Working days left",
        "Рабочих дней осталось",
        "",
    ),
    ("col.subject", "Subject", "Тема", ""),
    ("overdue", "overdue", "просрочен", ""),
    ("flagged", "flagged", "на проверке", ""),
    (
        "req.understood",
        "What the worker understood",
        "Что понял обработчик",
        "",
    ),
    (
        "req.reasons",
        "Why it was flagged",
        "Почему запрос на проверке",
        "",
    ),
    (
        "req.no_reasons",
        "No reasons recorded.",
        "Причины не записаны.",
        "",
    ),
    ("req.identifiers", "Identifiers", "Идентификаторы", ""),
    ("req.iin", "IIN", "ИИН", "ЖСН"),
    ("req.bin", "BIN", "БИН", "БСН"),
    ("req.phones", "Phones", "Телефоны", ""),
    ("req.invalid_iin", "Invalid IIN", "Неверный ИИН", ""),
    ("req.also", "Also asks for", "Также просит", ""),
    ("req.sender", "Sender", "Отправитель", ""),
    ("req.message", "Original message", "Исходное письмо", ""),
    (
        "req.message_note",
        "Shown as plain text: links, images and scripts are not loaded.",
        "Показано как текст: ссылки, изображения и скрипты не загружаются.",
        "",
    ),
    (
        "req.html_source",
        "HTML source (not rendered)",
        "Исходный HTML (не отображается)",
        "",
    ),
    ("req.attachments", "Attachments", "Вложения", ""),
    (
        "req.download_raw",
        "Download the original (.eml)",
        "Скачать оригинал (.eml)",
        "",
    ),
    (
        "req.stores",
        "Data stores: matched subjects and plan",
        "Хранилища данных: найденные субъекты и план",
        "",
    ),
    (
        "req.stores_empty",
        "No store tasks for this request yet.",
        "Задач по хранилищам пока нет.",
        "",
    ),
    ("req.timeline", "Timeline", "Хронология", ""),
    ("req.emails", "E-mails", "Письма", ""),
    ("req.emails_empty", "No e-mails.", "Писем нет.", ""),
    (
        "req.audit",
        "Decisions (audit log)",
        "Решения (журнал аудита)",
        "",
    ),
    ("req.decide", "Decision", "Решение", ""),
    (
        "req.not_decidable",
        "This request is not waiting for a decision.",
        "Этот запрос не ожидает решения.",
        "",
    ),
    (
        "req.not_acknowledged",
        "The worker has not acknowledged this request yet; decide after the acknowledgement.",
        "Обработчик ещё не подтвердил получение; решение — после подтверждения.",
        "",
    ),
    ("act.approve", "Approve as", "Одобрить как", ""),
    ("act.retry_task", "Retry", "Повторить", "Қайталау"),
    ("act.task_done", "Mark done", "Отметить выполненной", "Орындалды деп белгілеу"),
    ("act.task_note", "What was done, by whom", "Что сделано и кем", ""),
    ("act.link", "Link to a subject", "Связать с субъектом", ""),
    (
        "act.link_hint",
        "Identifiers of the person this request is about; they replace the sender's own when the stores are searched.",
        "Идентификаторы человека, о котором обращение; при поиске в системах они заменят данные отправителя.",
        "",
    ),
    ("act.link_button", "Link", "Связать", "Байланыстыру"),
    ("act.approve_button", "Approve", "Одобрить", "Мақұлдау"),
    (
        "act.reject",
        "Reject with a reason",
        "Отказать с обоснованием",
        "",
    ),
    ("act.reject_button", "Reject", "Отказать", ""),
    (
        "act.ask",
        "Ask the sender for more information",
        "Запросить у отправителя информацию",
        "",
    ),
    (
        "act.ask_button",
        "Send the question",
        "Отправить вопрос",
        "",
    ),
    (
        "act.reason_hint",
        "The reason is sent to the subject in the request's language template.",
        "Обоснование уйдёт заявителю в шаблоне на языке запроса.",
        "",
    ),
    (
        "done.approved",
        "Approved: the request is back in the processing queue.",
        "Одобрено: запрос возвращён в очередь обработки.",
        "",
    ),
    (
        "done.rejected",
        "Rejected: the refusal e-mail is queued.",
        "Отказано: письмо с отказом поставлено в очередь.",
        "",
    ),
    (
        "done.awaiting_information",
        "The question is queued for sending.",
        "Вопрос поставлен в очередь на отправку.",
        "",
    ),
    ("dash.disputed", "Disputed", "Оспорены", "Дау айтылған"),
    (
        "dash.failed_inbound",
        "Failed messages",
        "Необработанные письма",
        "Өңделмеген хаттар",
    ),
    (
        "dash.failed_requests",
        "Failed requests",
        "Сбои запросов",
        "Сәтсіз сұраныстар",
    ),
    (
        "req.failure",
        "Processing failed:",
        "Обработка не удалась:",
        "Өңдеу сәтсіз аяқталды:",
    ),
    (
        "req.disputed",
        "The person says they did not make this request. Nothing was done in the data stores; close or reject it.",
        "Человек сообщил, что не отправлял этот запрос. В хранилищах ничего не сделано; закройте запрос или откажите.",
        "Адам бұл сұранысты жібермегенін айтты. Деректер қоймаларында ештеңе жасалған жоқ; сұранысты жабыңыз немесе бас тартыңыз.",
    ),
    (
        "req.not_searched",
        "The stores have not been searched yet: approval is possible once the worker has recorded what they hold of this subject.",
        "Поиск в хранилищах ещё не выполнен: одобрить можно, когда обработчик запишет, что в них есть об этом субъекте.",
        "Қоймаларда іздеу әлі жүргізілген жоқ: өңдеуші осы субъект туралы деректерді жазғанда мақұлдауға болады.",
    ),
    (
        "act.retry_request",
        "Retry processing",
        "Повторить обработку",
        "Өңдеуді қайталау",
    ),
    (
        "act.retry_request_hint",
        "Sends the request back to where the worker takes it up again (review, if it was flagged and not approved). Failed store tasks are retried one by one in the stores section.",
        "Возвращает запрос туда, откуда обработчик продолжит (на проверку, если запрос был помечен и не одобрен). Сбойные задачи хранилищ повторяются по одной в разделе хранилищ.",
        "",
    ),
    (
        "act.ends_tasks",
        "Its open store tasks are cancelled and never run; a task running right now finishes, but the request is never completed.",
        "Открытые задачи по хранилищам отменяются и не будут выполнены; выполняемая сейчас задача завершится, но запрос не будет завершён.",
        "",
    ),
    (
        "act.close",
        "Close without action",
        "Закрыть без действий",
        "Әрекетсіз жабу",
    ),
    (
        "act.close_hint",
        "Nothing is sent to the subject. The note is kept in the audit log (no personal data in it, please).",
        "Заявителю ничего не отправляется. Заметка сохраняется в журнале аудита (пожалуйста, без персональных данных).",
        "",
    ),
    ("act.close_button", "Close", "Закрыть", "Жабу"),
    (
        "act.override_conflicts",
        "Override the conflicts",
        "Несмотря на противоречия",
        "Қайшылықтарға қарамастан",
    ),
    (
        "act.override_conflicts_hint",
        "The identifiers point at different records. Tick only if you have checked who the request is about; otherwise link the request to the right subject first.",
        "Идентификаторы указывают на разные записи. Отмечайте, только если проверили, о ком запрос; иначе сначала свяжите запрос с нужным субъектом.",
        "",
    ),
    (
        "act.override_obligations",
        "Override the open obligations (art. 8(2))",
        "Несмотря на неисполненные обязательства (ст. 8 п. 2)",
        "Орындалмаған міндеттемелерге қарамастан (8-бап 2-т.)",
    ),
    (
        "act.override_obligations_hint",
        "The subject has an open obligation (e.g. an unpaid invoice): law 94-V art. 8(2) allows keeping the data for it. Tick only if erasure or withdrawal must go ahead anyway.",
        "У субъекта есть неисполненное обязательство (например, неоплаченный счёт): ст. 8 п. 2 закона 94-V позволяет хранить данные для него. Отмечайте, только если удаление или отзыв должны быть выполнены несмотря на это.",
        "",
    ),
    (
        "match.title",
        "What the stores hold of the subject",
        "Что есть о субъекте в хранилищах",
        "Қоймаларда субъект туралы не бар",
    ),
    ("match.anchor", "Found by", "Найдено по", ""),
    ("match.at", "Searched", "Поиск выполнен", ""),
    ("match.fingerprint", "Fingerprint", "Отпечаток", ""),
    ("match.approved", "Approved", "Одобрено", ""),
    (
        "match.overrode_conflicts",
        "conflicts overridden",
        "несмотря на противоречия",
        "",
    ),
    (
        "match.overrode_obligations",
        "obligations overridden",
        "несмотря на обязательства",
        "",
    ),
    (
        "match.before_link",
        "This match was found before staff linked the request to a subject; the worker searches again for the linked subject.",
        "Это совпадение найдено до того, как запрос связали с субъектом; обработчик ищет заново по связанному субъекту.",
        "",
    ),
    (
        "match.nobody",
        "No record of this subject in any store.",
        "Записей об этом субъекте ни в одном хранилище нет.",
        "",
    ),
    ("match.store", "Store", "Хранилище", ""),
    ("match.table", "Table", "Таблица", ""),
    ("match.bound", "Acted on", "Затрагивается", ""),
    ("match.phone", "Phone", "Телефон", ""),
    ("match.outside", "Outside", "Вне субъекта", ""),
    ("match.via", "Through", "Через", ""),
    (
        "match.legend",
        "Acted on: rows the request would act on. E-mail / IIN / phone: rows each identifier matched. Outside: rows matched by identifiers in the text that the verified address does not match — never acted on. Counts only.",
        "Затрагивается: строки, с которыми будет работать запрос. E-mail / ИИН / телефон: строки, найденные по каждому идентификатору. Вне субъекта: строки, найденные по идентификаторам из текста, которые не совпадают с подтверждённым адресом, — с ними ничего не делается. Только количества.",
        "",
    ),
    ("match.conflicts", "Conflicts", "Противоречия", "Қайшылықтар"),
    (
        "match.obligations",
        "Open obligations (art. 8(2))",
        "Неисполненные обязательства (ст. 8 п. 2)",
        "",
    ),
    (
        "match.unreached",
        "Not searched (store unavailable)",
        "Не удалось проверить (хранилище недоступно)",
        "",
    ),
    ("anchor.verified", "the verified address", "подтверждённому адресу", ""),
    ("anchor.sender", "the sender's address", "адресу отправителя", ""),
    ("anchor.staff_link", "the subject staff linked", "субъекту, указанному сотрудником", ""),
    ("anchor.none", "nothing (no verified address)", "ничему (нет подтверждённого адреса)", ""),
    (
        "failures.inbound_hint",
        "Stored messages the worker gave up on after repeated attempts: no request was made of them. Read them and answer by hand if they are requests.",
        "Сохранённые письма, которые обработчик не смог разобрать после нескольких попыток: запрос по ним не создан. Прочитайте их и ответьте вручную, если это запросы.",
        "",
    ),
    (
        "failures.tasks_hint",
        "Store tasks whose last attempt failed; retry them from the request page.",
        "Задачи хранилищ, последняя попытка которых не удалась; повторите их со страницы запроса.",
        "",
    ),
    (
        "failures.emails_hint",
        "E-mails that could not be sent after every attempt.",
        "Письма, которые не удалось отправить после всех попыток.",
        "",
    ),
    ("failures.what", "What", "Что", ""),
    ("failures.attempts", "Attempts", "Попыток", ""),
    ("failures.error", "Error", "Ошибка", ""),
    (
        "done.closed",
        "Closed: nothing more happens to this request.",
        "Закрыт: по запросу больше ничего не происходит.",
        "",
    ),
    (
        "done.retried",
        "The request is back in the processing queue.",
        "Запрос возвращён в очередь обработки.",
        "",
    ),
    (
        "done.linked",
        "Linked: the worker searches the stores again for this subject.",
        "Связано: обработчик заново ищет этого субъекта в хранилищах.",
        "",
    ),
    (
        "done.task_replayed",
        "The store task is queued again.",
        "Задача хранилища снова поставлена в очередь.",
        "",
    ),
    (
        "done.task_resolved",
        "The store task is marked done.",
        "Задача хранилища отмечена выполненной.",
        "",
    ),
    ("audit.title", "Audit log", "Журнал аудита", ""),
    (
        "audit.intact",
        "The chain is intact",
        "Цепочка не нарушена",
        "",
    ),
    (
        "audit.broken",
        "The chain is BROKEN at entry",
        "Цепочка НАРУШЕНА на записи",
        "",
    ),
    ("audit.entries", "entries", "записей", ""),
    ("col.at", "When", "Когда", ""),
    ("col.actor", "Who", "Кто", ""),
    ("col.action", "What", "Что", ""),
    ("col.before", "Before", "До", ""),
    ("col.after", "After", "После", ""),
    ("col.request", "Request", "Запрос", ""),
    ("col.email", "E-mail", "Эл. почта", ""),
    ("col.role", "Role", "Роль", ""),
    ("col.event", "Event", "Событие", ""),
    ("col.detail", "Detail", "Подробности", ""),
    ("staff.add", "Add a staff member", "Добавить сотрудника", ""),
    (
        "staff.added",
        "Staff member added.",
        "Сотрудник добавлен.",
        "",
    ),
    (
        "staff.password_hint",
        "At least 12 characters; hand it over in person.",
        "Не менее 12 символов; передайте лично.",
        "",
    ),
    ("error.title", "Something is wrong", "Что-то не так", ""),
    (
        "error.csrf",
        "The form expired or did not come from this console. Reload the page and try again.",
        "Форма устарела или отправлена не из консоли. Обновите страницу и повторите.",
        "",
    ),
    ("error.not_found", "Not found.", "Не найдено.", ""),
    (
        "error.forbidden",
        "Only administrators can do this.",
        "Это могут только администраторы.",
        "",
    ),
    (
        "error.internal",
        "Internal error; it has been logged.",
        "Внутренняя ошибка; она записана в журнал.",
        "",
    ),
    ("back", "Back to the queue", "Назад к очереди", ""),
    (
        "kind.withdraw_consent",
        "withdraw consent",
        "отзыв согласия",
        "келісімді кері қайтару",
    ),
    (
        "kind.access",
        "access",
        "доступ к данным",
        "деректерге қол жеткізу",
    ),
    ("kind.erasure", "erasure", "удаление", "жою"),
    (
        "kind.restriction",
        "restriction (blocking)",
        "блокирование",
        "бұғаттау",
    ),
    (
        "kind.rectification",
        "rectification",
        "исправление",
        "түзету",
    ),
    (
        "kind.marketing_opt_out",
        "marketing opt-out",
        "отписка от рассылки",
        "таратудан бас тарту",
    ),
    ("status.received", "received", "получен", ""),
    (
        "status.needs_review",
        "needs review",
        "требует проверки",
        "",
    ),
    (
        "status.awaiting_information",
        "awaiting information",
        "ожидает информации",
        "",
    ),
    ("status.accepted", "accepted", "принят", ""),
    ("status.approved", "approved", "одобрен", ""),
    (
        "status.awaiting_confirmation",
        "awaiting identity confirmation",
        "ожидает подтверждения личности",
        "",
    ),
    (
        "status.confirmed",
        "identity confirmed",
        "личность подтверждена",
        "",
    ),
    (
        "status.executing",
        "executing in stores",
        "исполняется в хранилищах",
        "",
    ),
    ("status.completed", "completed", "выполнен", ""),
    ("status.rejected", "rejected", "отказано", ""),
    ("status.disputed", "disputed", "оспорен", "дау айтылған"),
    ("status.failed", "failed", "сбой", "сәтсіз"),
    ("status.closed", "closed", "закрыт", "жабылған"),
    ("status.cancelled", "cancelled", "отменена", "тоқтатылған"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_resolve_and_fall_back() {
        assert_eq!(
            Lang::from_accept_language("de-DE,en-US;q=0.8,ru;q=0.5"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("fr"), None);
        assert_eq!(Lang::Kk.t("welcome"), "Қош келдіңіз");
        assert_eq!(Lang::Kk.t("queue.empty"), Lang::Ru.t("queue.empty"));
        assert_eq!(Lang::En.label("kind", "erasure"), "erasure");
        assert_eq!(Lang::En.label("kind", "unknown_thing"), "unknown_thing");
    }

    #[test]
    fn the_new_states_have_labels_in_every_language() {
        for status in ["disputed", "failed", "closed"] {
            for lang in [Lang::En, Lang::Ru, Lang::Kk] {
                assert_ne!(
                    lang.t(&format!("status.{status}")),
                    "?",
                    "{status} in {lang:?}"
                );
            }
            assert_ne!(
                Lang::Ru.label("status", status),
                status,
                "{status} in Russian"
            );
        }
        assert_eq!(Lang::Ru.label("status", "disputed"), "оспорен");
        assert_eq!(Lang::Kk.label("status", "closed"), "жабылған");
    }

    #[test]
    fn every_key_has_english_and_russian() {
        for (key, en, ru, _) in STRINGS {
            assert!(!en.is_empty() && !ru.is_empty(), "{key}");
        }
    }
}
