"""English phrasing families. Validation families use constructions the training families
never use."""

LANG = "en"

GREETING = {
    "train": ["Hello,", "Hi,", "Dear NLG.KZ team,", "Good afternoon,", "Hi there,", "", "Dear Sir or Madam,", "Hello team,"],
    "validation": ["Greetings,", "Dear support,", "Good morning,", "To whom it may concern,"],
}

CLOSING = {
    "train": [
        "Kind regards,\n<NAME>", "Thanks,\n<FIRST>", "Best regards,\n<NAME>", "<NAME>",
        "Regards, <NAME>", "Thank you.\n<FIRST>", "Looking forward to your reply.\n<NAME>", "Thanks!",
    ],
    "validation": ["Cheers,\n<FIRST>", "Many thanks in advance,\n<NAME>", "All the best,\n<NAME>"],
}

INTRO = {
    "train": [
        "I have been a {customer|user} of NLG.KZ since <YEAR>.",
        "I {signed up|filled in a form|gave my consent} on your website some time ago.",
        "I am writing about my personal data held by NLG.KZ.",
        "My name is <NAME>.",
        "I {submitted an application|left a request} on nlg.kz in <YEAR>.",
    ],
    "validation": [
        "I used your services for a while a few years back.",
        "I'm contacting you as a former client.",
        "You got my details when I {signed a contract|filled in a web form}.",
    ],
}

IDENT = {
    "train": [
        "My IIN is <IIN>.", "IIN <IIN>, phone <PHONE>.", "For identification: IIN <IIN>.",
        "My details: <NAME>, IIN <IIN>, tel. <PHONE>.", "Contact phone: <PHONE>.", "IIN: <IIN>",
        "My phone number is <PHONE>.",
    ],
    "validation": [
        "To find me: IIN <IIN>, number <PHONE>.", "Individual identification number (IIN): <IIN>.",
        "You can reach me on <PHONE>.",
    ],
}

REQUEST = {
    "withdraw_consent": {
        "train": [
            "I {hereby|herewith} withdraw my consent to the {collection and processing|processing} of my personal data.",
            "Please {treat|consider} my consent to the processing of personal data as withdrawn{| as of today}.",
            "I withdraw the consent I gave NLG.KZ to process my personal data.",
            "I {want|would like} to withdraw my consent to the processing of my {personal|private} data.",
            "Please accept the withdrawal of my consent{| under clause 9 of your consent agreement}.",
            "Under Article 8 of Law No. 94-V, I revoke my consent to the processing of my data.",
            "I no longer consent to you processing my data, {I revoke it|please cancel it}.",
        ],
        "validation": [
            "The consent I once {signed|gave} to NLG.KZ: I'm taking it back.",
            "I am terminating my consent for data collection and processing; please record this.",
            "Please annul my consent to processing my personal data and stop relying on it.",
        ],
    },
    "access": {
        "train": [
            "Please provide {information on|details of} what personal data of mine NLG.KZ {processes|holds}.",
            "Please send me a copy of {my personal data|all the data} you hold about me.",
            "What data do you {have|store} about me? Please {reply|let me know}{| in writing}.",
            "I request access to {my personal data|the personal data you hold on me}.",
            "I would like to know {why|for what purpose} you process my data and {who you shared it with|where you got it from}.",
            "Under Article 24 of the Personal Data Law, please tell me what information about me {has been collected|is processed}.",
            "Please send me a statement of my personal data: the list, the source and the purposes of processing.",
        ],
        "validation": [
            "I'm curious what exactly you know about me: list every piece of information you have on record.",
            "I need to see the full dataset linked to my account; export it to me.",
            "Please disclose to whom, and on what grounds, my details were passed on.",
        ],
    },
    "erasure": {
        "train": [
            "Please delete {my personal data|all my personal data|my data|all data about me}{| from all your systems}.",
            "{Delete|Erase} my {data|personal information} and my account, please.",
            "I request that you destroy my personal data in accordance with Article 24 of the Law.",
            "I demand that you delete my account and all associated information.",
            "I want you to remove my data from your database.",
            "Please completely delete my profile{| on nlg.kz} together with all data.",
            "Delete all information about me{| permanently}.",
        ],
        "validation": [
            "I need there to be no trace of my data left with you: wipe it out.",
            "Can you scrub me from your database entirely? That's what I'm asking for.",
            "Please get rid of every record you keep on me, copies included.",
        ],
    },
    "restriction": {
        "train": [
            "Please block my personal data{| until the matter is resolved}.",
            "Please suspend the processing of my {personal data|data}{| while this is checked}.",
            "Please {restrict|stop} processing my data, but {do not delete it|don't delete anything yet}.",
            "{Block|Suspend} the use of my personal data, please.",
            "Please temporarily freeze my data and do not use it until I contact you again.",
            "Pursuant to Article 24 of the Law, I request the blocking of my personal data.",
        ],
        "validation": [
            "Let my information just sit there untouched: no processing at all until further instructions.",
            "Halt any operations on my data; no need to erase it.",
            "Please put the processing of my information on hold.",
        ],
    },
    "rectification": {
        "train": [
            "Please correct my {surname|first name|date of birth} in your records: the correct one is <NEW_SURNAME>.",
            "My surname changed from <OLD_SURNAME> to <NEW_SURNAME>; please {update|change} my data.",
            "Please update my {address|phone number}: the new one is <ADDRESS>.",
            "There is an error in my data: {my date of birth is wrong|my patronymic is misspelled}. Please correct it to <DATE>.",
            "Please amend my personal data: my {surname|home address} has changed.",
            "Please add {my new phone number|my e-mail address} to my data: <PHONE>.",
        ],
        "validation": [
            "You have me down as <OLD_SURNAME>, but it should be <NEW_SURNAME>; fix that, please.",
            "My details are out of date: I moved, now I live at <ADDRESS>. Bring the record up to date.",
            "Please swap the old number in my profile for <PHONE>.",
        ],
    },
    "marketing_opt_out": {
        "train": [
            "Please unsubscribe me from your {newsletter|mailing list|promotional emails}.",
            "Please stop sending me promotional {emails|SMS|messages}.",
            "I don't want to receive {your newsletter|ads and promotions|news and offers}, {unsubscribe me|please stop}.",
            "Please stop the {SMS campaign|email campaign|marketing calls} to my number.",
            "Please remove my address from your mailing list.",
            "I opt out of {marketing|advertising} messages.",
        ],
        "validation": [
            "Your promo mails no longer interest me; take me off the list.",
            "Enough with the deals and discounts in my inbox, please.",
            "No more marketing notifications to me, I beg you.",
        ],
    },
}

ALSO = {
    "marketing_opt_out": {"train": ["And unsubscribe me from the newsletter.", "Also please stop the promotional SMS."], "validation": ["Don't send promo mails either."]},
    "erasure": {"train": ["After that, delete my data.", "Then please delete my account."], "validation": ["And then wipe everything about me."]},
    "access": {"train": ["But first send me a copy of my data.", "Please also tell me what data you have."], "validation": ["Before that I want to see what you have on me."]},
    "withdraw_consent": {"train": ["I also withdraw my consent to processing.", "I withdraw my consent."], "validation": ["I'm taking my consent back."]},
    "restriction": {"train": ["Until then, please block my data."], "validation": ["Until then, don't touch my data."]},
}

REASON = {
    "train": [
        "I no longer use your services.", "I'm moving abroad.", "I don't want my data kept by third parties.",
        "My contract with you has ended.", "I get calls from unknown numbers and I worry about my data.",
    ],
    "validation": ["I don't need the service any more.", "I decided to tidy up my subscriptions and accounts."],
}

SUBJECT = {
    "withdraw_consent": {"train": ["Withdrawal of consent", "Withdraw consent to personal data processing", "Consent withdrawal", "consent"], "validation": ["Taking back my consent", "About my consent"]},
    "access": {"train": ["Personal data access request", "What data do you hold", "Information request", "Copy of my data"], "validation": ["What do you have on me?", "Data export"]},
    "erasure": {"train": ["Data deletion", "Delete my account", "Request to erase personal data", "Deletion"], "validation": ["Wipe me", "Destroy my records"]},
    "restriction": {"train": ["Block my personal data", "Suspend processing", "Restriction of processing"], "validation": ["Processing on hold", "Do not process my data"]},
    "rectification": {"train": ["Correct my data", "Change of personal data", "Surname change", "Update my details"], "validation": ["Profile fix", "Updating my records"]},
    "marketing_opt_out": {"train": ["Unsubscribe", "Stop newsletter", "Opt out", "Stop the ads"], "validation": ["Too many emails", "Take me off the list"]},
}

REVIEW = {
    "child": {
        "train": [
            ("erasure", "I am the {mother|father} of <CHILD>, who is <CHILD_AGE>. Please delete my child's personal data; the child's IIN is <CHILD_IIN>. My IIN is <IIN>."),
            ("access", "I am writing as the legal guardian of my minor son <CHILD> (IIN <CHILD_IIN>). Please tell me what data of his you hold. My IIN: <IIN>."),
            ("withdraw_consent", "My daughter <CHILD> (<CHILD_AGE>, IIN <CHILD_IIN>) signed up with you without my knowledge. As her parent I withdraw consent to processing her data. My IIN <IIN>."),
        ],
        "validation": [
            ("erasure", "The kid is still at school: <CHILD>, IIN <CHILD_IIN>. Whatever you've collected on him, get rid of it. I'm his guardian, IIN <IIN>."),
            ("access", "I want to understand what you know about my underage child <CHILD> (IIN <CHILD_IIN>). I'm the mother, IIN <IIN>."),
        ],
    },
    "spouse": {
        "train": [
            ("erasure", "I'm writing on behalf of my {wife|husband} <OTHER>, who asks you to delete their personal data."),
            ("withdraw_consent", "My spouse <OTHER> withdraws consent to the processing of their data; please process this on my email."),
            ("access", "Please provide the data you hold on my husband <OTHER>; he has no email of his own."),
        ],
        "validation": [
            ("erasure", "For <OTHER> (my better half): please remove everything about them from the database, they don't use email."),
            ("restriction", "My wife asked me to write to you: please suspend the processing of <OTHER>'s data."),
        ],
    },
    "lawyer": {
        "train": [
            ("erasure", "Acting for my principal <OTHER> under a power of attorney, I demand that you destroy their personal data."),
            ("access", "Attorney <NAME>. On instructions from my client <OTHER> (IIN <OTHER_IIN>), please provide information on their personal data."),
            ("withdraw_consent", "I represent <OTHER> under power of attorney No. <TICKET>. My principal withdraws consent to the processing of personal data."),
        ],
        "validation": [
            ("erasure", "The law firm retained by <OTHER> hereby notifies you that her data must be erased. A copy of our mandate is enclosed."),
            ("restriction", "On behalf of my defendant <OTHER>, I ask you to block his data."),
        ],
    },
    "heir": {
        "train": [
            ("erasure", "My {father|mother} <OTHER> passed away in <YEAR>. Please delete their data and close the account."),
            ("access", "I am the heir of the late <OTHER>. Please tell me what data of the deceased you hold."),
        ],
        "validation": [
            ("erasure", "After my grandmother <OTHER> died, her profile with you remained; remove it with her data. I'm her granddaughter."),
            ("withdraw_consent", "My brother <OTHER> has died; please end the consent he gave."),
        ],
    },
    "employer": {
        "train": [
            ("marketing_opt_out", "Our former employee <OTHER> has left the company; please remove his address from your mailing list."),
            ("erasure", "HR department of <ORG>: please delete the data of our staff that you received under the contract."),
        ],
        "validation": [
            ("marketing_opt_out", "<OTHER> no longer works here; take her work email off all your lists."),
            ("erasure", "As the employer, I ask you to erase the information about our employee <OTHER> from your system."),
        ],
    },
    "police": {
        "train": [
            ("access", "Investigator <NAME>, Almaty Police Department. In criminal case No. <TICKET>, please provide all information on citizen <OTHER>, IIN <OTHER_IIN>."),
            ("access", "Law enforcement request: send the personal data and transaction history of <OTHER> (IIN <OTHER_IIN>) within 24 hours."),
        ],
        "validation": [
            ("access", "I'm an officer with the internal affairs bodies. We urgently need the data of your client <OTHER>, IIN <OTHER_IIN>; this is an official request."),
        ],
    },
    "new_address": {
        "train": [
            ("access", "I'm writing from a new address; I can't access the old one, <OLD_EMAIL>. Please send the copy of my data to this address."),
            ("erasure", "My account is registered to <OLD_EMAIL>, which I no longer have access to. Please delete that account's data."),
        ],
        "validation": [
            ("access", "Send my data export not to the mailbox in my profile (<OLD_EMAIL>) but here."),
        ],
    },
    "debt": {
        "train": [
            ("withdraw_consent", "I withdraw my consent to data processing. I still have an unpaid balance on invoice No. <TICKET>, but that doesn't matter."),
            ("erasure", "Please delete my data, even though my contract with you is valid until the end of the year."),
            ("withdraw_consent", "My company <ORG> works with you under an active contract, but I personally withdraw my consent."),
        ],
        "validation": [
            ("withdraw_consent", "I haven't settled last month's bill yet; I'm withdrawing consent to processing anyway."),
            ("erasure", "My loan with you isn't repaid yet, but please destroy my data."),
        ],
    },
    "dispute": {
        "train": [
            ("erasure", "I never sent any deletion request! Someone filed it in my name, so do not delete anything."),
            ("withdraw_consent", "I got your email about withdrawing consent, but I didn't withdraw anything. This is a mistake or fraud."),
        ],
        "validation": [
            ("erasure", "Where did a request to wipe my account come from? It wasn't me who wrote it."),
        ],
    },
    "conflict": {
        "train": [
            ("erasure", "Delete all my data, but keep my account and order history."),
            ("withdraw_consent", "I withdraw my consent to processing, but please don't close my personal account."),
        ],
        "validation": [("erasure", "Wipe the data about me, just leave the contracts as they are.")],
    },
    "change_iin": {
        "train": [("rectification", "My data shows the wrong IIN <OTHER_IIN>; the correct one is <IIN>. Please fix it.")],
        "validation": [("rectification", "The IIN in my profile is someone else's (<OTHER_IIN>); my real one is <IIN>. Replace it.")],
    },
    "threat": {
        "train": [
            ("not_a_request", "This is my third email! If you don't sort out my data, I'll go to the prosecutor and to court."),
            ("not_a_request", "Did you sell my data? Debt collectors keep calling me. I will complain to the regulator!"),
        ],
        "validation": [("not_a_request", "Your attitude to customers is outrageous; I'm preparing a complaint to the authority.")],
    },
}

BUSINESS = {
    "pitch": {
        "train": [
            "Our company helps you {delete customer personal data on request|automate replies to data access requests|block data leaks}. {Happy to give a demo.|We offer a free pilot.}",
            "<ORG> service: personal data {deletion|anonymisation|encryption} {in one day|under Kazakhstan law}, {30% off|first month free}.",
            "Webinar: how to {handle consent withdrawals|process data subject requests|erase customer data} under Law No. 94-V. Register via the link.",
        ],
        "validation": ["We audit your compliance with the personal data law and find which customer records you must erase or block. Write to us to discuss."],
    },
    "invoice": {
        "train": [
            "Please find attached invoice No. <TICKET> for {services|the delivery} in <MONTH>. Kindly pay by <DATE>.",
            "Hello! Could you send me a copy of invoice No. <TICKET>? I lost the original.",
            "Could you share the payment details for contract No. <TICKET>?",
            "The reconciliation statement for <MONTH> is attached; please sign and return it.",
        ],
        "validation": [
            "Accounts of <ORG>: a reminder of the outstanding <AMOUNT> KZT on delivery note No. <TICKET>.",
            "Please delete the duplicate of invoice No. <TICKET>; it was issued by mistake and the correct one follows tomorrow.",
        ],
    },
    "offer": {
        "train": [
            "We offer {SEO services|mobile app development|office furniture supply} for your company. 20% off until the end of the month.",
            "<ORG> proposes cooperation in {logistics|IT outsourcing|advertising}. We are ready to discuss terms.",
            "We'd like to offer you a {CRM system|cloud storage} with personal data protection to Kazakhstan standards.",
        ],
        "validation": [
            "Commercial offer from <ORG>: an information security audit at a reduced price.",
            "We help companies bring their personal data processing into line with the law; free consultation.",
        ],
    },
    "meeting": {
        "train": [
            "Confirming our meeting on {Thursday|Monday} at 3 pm at your office on Zhamakayev street.",
            "Could we move our call to <DATE>? Same agenda.",
        ],
        "validation": ["Colleagues, let's talk next week about the project. Does Tuesday work?"],
    },
    "support": {
        "train": [
            "I can't log in to my account, it says 'wrong password'. Please help me restore access.",
            "The app crashes at payment, please fix the bug.",
            "When will my order No. <TICKET> be ready? I've been waiting a week.",
            "My card was blocked after paying you, what should I do?",
        ],
        "validation": [
            "The Send button on your site doesn't work in Safari; please fix it.",
            "Access to the partner portal is gone since yesterday, please check the server.",
        ],
    },
    "job": {
        "train": [
            "Hello! I'd like to apply for the {manager|accountant|developer} vacancy. My CV is attached.",
            "Do you take interns? I'm a student at KBTU; my resume is attached.",
        ],
        "validation": ["I'm looking for a job in IT and would be glad of any position; CV attached."],
    },
    "spam": {
        "train": [
            "Earn 500,000 tenge a week with no investment! Follow the link.",
            "Today only: 0% loan with no paperwork. Call <PHONE>.",
            "You've won an iPhone! Fill in the form to claim your prize.",
        ],
        "validation": ["Customer databases of every company in Kazakhstan, cheap. Message us on Telegram."],
    },
    "phishing": {
        "train": [
            "Your mailbox will be blocked in 24 hours. To confirm, follow the link and enter your password.",
            "Security team: suspicious activity on your account. Confirm your details or the account will be deleted.",
        ],
        "validation": ["Kaspi notice: your account is restricted; update your card details via the link below."],
    },
    "thanks": {
        "train": ["Thanks for the quick help, everything works!", "Thank you for the advice, the issue is solved."],
        "validation": ["Many thanks to your manager Aigerim for her attentiveness."],
    },
    "howto": {
        "train": [
            "Could you tell me how I could withdraw consent if I ever need to? I'm not withdrawing anything now, just asking.",
            "How long do you keep personal data? Just for general understanding.",
        ],
        "validation": ["If I ever want to delete my account, whom do I contact? Not needed right now."],
    },
    "consent_forms": {
        "train": ["We are a clinic and want to build a consent form for processing our patients' data. Could you suggest a template?"],
        "validation": ["We're drafting a consent form for our own employees. Any recommendations?"],
    },
    "organiser_optout": {
        "train": ["<OTHER>, please remove me from your event's mailing (reply all)."],
        "validation": ["To the forum organisers: take me off the participants list and the mailing."],
    },
    "bug_fix": {
        "train": ["The report for <MONTH> has an error in the total, please correct it and resend."],
        "validation": ["There's a typo in our company name in the contract; please fix it before signing."],
    },
}

BUSINESS_SUBJECT = {
    "pitch": ["Automating personal data requests", "Webinar", "Data protection offer"],
    "invoice": ["Invoice", "Invoice copy", "Reconciliation statement", "Payment under contract"],
    "offer": ["Commercial offer", "Cooperation", "Proposal"],
    "meeting": ["Meeting", "Moving our call"],
    "support": ["Login problem", "App error", "Order", "Question"],
    "job": ["CV", "Vacancy", "Job application"],
    "spam": ["Amazing offer!!!", "You have won", "0% loan"],
    "phishing": ["Urgent: verify your account", "Mailbox suspension", "Security notice"],
    "thanks": ["Thank you", "Thanks"],
    "howto": ["Question about consent", "Question"],
    "consent_forms": ["Consent form", "Advice"],
    "organiser_optout": ["Re: Invitation to the forum", "Re: Webinar registration"],
    "bug_fix": ["Error in the report", "Contract"],
}

AUTO = {
    "ooo": {
        "train": [
            "I am on leave until <DATE>. For urgent matters please contact <OTHER>.",
            "Thank you for your email. I am out of the office until <DATE> and will reply when I return.",
        ],
        "validation": ["This is an automatic reply: I'm travelling and reading mail irregularly."],
    },
    "ticket": {
        "train": [
            "Your request #<TICKET> has been received. A specialist will reply within 2 business days. Please do not reply to this email.",
            "Hello! Your ticket #<TICKET> has been opened. This message was sent automatically.",
        ],
        "validation": ["Case <TICKET> logged by our support desk; keep the reference for your records. This notice was generated by the system."],
    },
    "mdn": {
        "train": ["Your message\n\n  To: <EMAIL>\n  Subject: <SUBJ>\n\nwas read on <DATE>."],
        "validation": ["Read receipt: the message \"<SUBJ>\" was opened by the recipient on <DATE>."],
    },
}

AUTO_SUBJECT = {
    "ooo": ["Automatic reply: <SUBJ>", "Out of Office", "On leave", "Auto: <SUBJ>"],
    "ticket": ["[Ticket #<TICKET>] Request received", "Your request #<TICKET> has been received"],
    "mdn": ["Read: <SUBJ>", "Read receipt: <SUBJ>"],
}

BOUNCE = {
    "train": [
        "This is the mail system at host <HOST>.\n\nI'm sorry to have to inform you that your message could not be delivered to one or more recipients.\n\n<EMAIL>: mailbox full",
        "Delivery failed. The address <EMAIL> does not exist.",
    ],
    "validation": ["The recipient's server rejected the message for <EMAIL>: user unknown. No further delivery attempts will be made."],
}

BOUNCE_SUBJECT = ["Undelivered Mail Returned to Sender", "Delivery Status Notification (Failure)", "Mail delivery failed: returning message to sender"]

QUOTE_HEADER = ["On <DATE>, <QNAME> <<QEMAIL>> wrote:", "-----Original Message-----\nFrom: <QNAME> <<QEMAIL>>\nSent: <DATE>\nSubject: <SUBJ>"]

FORWARD_HEADER = "---------- Forwarded message ---------\nFrom: <QNAME> <<QEMAIL>>\nDate: <DATE>\nSubject: <SUBJ>"

FORWARD_NOTE = {
    "train": ["Forwarding my friend's email, please help her.", "This is from my colleague, please sort it out."],
    "validation": ["Below is a message from my neighbour; she asked me to forward it."],
}

ATTACHMENT_ONLY = {
    "train": ["Application attached.", "See attachment.", "Please review the attached file."],
    "validation": ["Document enclosed."],
}

ATTACHMENT_NAMES = {
    "withdraw_consent": "consent_withdrawal_request.pdf",
    "erasure": "data_deletion_request.pdf",
    "access": "personal_data_request.pdf",
    "restriction": "blocking_request.pdf",
    "rectification": "data_change_request.pdf",
}

ATTACHMENT_ID_NOTE = ["A scan of my ID card is attached.", "Copy of my ID attached."]

PARTIAL = {
    "train": [
        ("restriction", "Do not share my data with third parties and don't use it for analytics. Leave everything else as is."),
        ("withdraw_consent", "I withdraw my consent to cookies and tracking on the website; the rest can stay."),
        ("access", "so what happens to my info on your side??"),
    ],
    "validation": [
        ("restriction", "Just one thing: stop sharing my details with partners, nothing needs deleting."),
        ("access", "Where does my data go after I give it to you?"),
    ],
}
