//! Console strings in Russian and English, with a Kazakh welcome (other Kazakh strings fall back
//! to Russian). The language comes from `?lang=`, then the `dsr_lang` cookie, then
//! `Accept-Language`, then Russian.

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
    fn every_key_has_english_and_russian() {
        for (key, en, ru, _) in STRINGS {
            assert!(!en.is_empty() && !ru.is_empty(), "{key}");
        }
    }
}
