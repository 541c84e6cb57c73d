# English.
lang-code = en
lang-other-name = Bahasa Indonesia
lang-other-code = id
site-name = Peluit
tagline = An anonymous, encrypted channel for reporting wrongdoing
nav-home = Home
nav-submit = Make a report
nav-status = Check a report
nav-about = Privacy

home-title = Report corruption safely
home-intro = Here you can report illegal levies, bribes, gratuities or abuse of authority in public services. You do not have to give your name.
home-who = Your report is encrypted the moment it arrives and can only be opened by the investigators of { $org }, on a computer that is not connected to the internet. Not even the people who run the server can read it.
home-safety-title = Before you report
home-safety-device = Use a personal device and network, not your office's.
home-safety-tor = If you can, use Tor Browser and this service's onion address.
home-safety-metadata = Files can carry hidden data such as author names or GPS positions. Remove it, or send a screenshot instead.
home-safety-tell = Tell nobody about your report.
home-start = Start a report
home-check = Already reported? Check the status with your receipt code

submit-title = Make a report
submit-intro = Fill in as much as you know. Every field may be left empty, but the report may not be empty altogether.
field-category = Kind of wrongdoing
field-what = What happened?
field-what-hint = For example: an official asked for extra money to speed up a permit.
field-who = Who was involved?
field-who-hint = Names, positions or units, if you know them.
field-where = Where?
field-where-hint = Office, city or address.
field-when = When?
field-when-hint = Dates or rough times; whether it is still going on.
field-how = How?
field-how-hint = How it was done, and how you came to know.
field-text = Anything else
field-files = Attachments (you may choose several)
field-files-hint = Photos, documents or recordings. We do not remove hidden data inside files.
identity-summary = Do you want to give your identity? (optional)
identity-warning = Anonymous reports are followed up too. Your identity is only needed if you ask for witness protection or want to claim a reward. It is encrypted like the rest of the report, but once you write it the investigators will know who you are.
field-identity = Your name and how to reach you
submit-button = Send the report, encrypted
files-again = Files are not kept: please choose your files again.

receipt-title = Your report has been received
receipt-code-label = Your receipt code
receipt-write-down = Write this code down now and keep it somewhere safe. Nobody, not even us, can recover it.
receipt-next = Your report is recorded with the status "Received". Come back with this code to see the status, read the investigators' replies and add information. Expect feedback within { $days } days.
receipt-check = Check the status

status-title = Check a report
status-intro = Enter your receipt code. Upper or lower case, spaces and hyphens do not matter.
field-receipt = Receipt code
status-button = Show the status
status-current = Current status
status-submitted = Submitted on
status-timeline = History

status-received = Received
status-verifying = Verifying
status-reviewing = Under review
status-investigating = Under investigation
status-needs_info = More information needed
status-forwarded = Forwarded to the competent authority
status-closed = Closed

category-pungli = Illegal levies
category-suap = Bribery
category-gratifikasi = Gratuities
category-pemerasan = Extortion
category-penggelapan = Embezzlement in office
category-pengadaan = Procurement fraud
category-wewenang = Abuse of authority
category-benturan = Conflict of interest
category-perizinan = Permits
category-lainnya = Other

about-title = Privacy
about-stored = What we store: the report and its files in encrypted form, dates (without the time), rounded sizes, and the report's status.
about-not-stored = What we do not store: your IP address, your browser, your receipt code, or any readable content of your report.

error-title = Something went wrong
error-typo = That code looks mistyped. Please check your code.
error-unknown = Unknown code. Please check your code; a deleted report cannot be found either.
error-empty = The report is empty. Fill in at least one field or attach a file.
error-category = Choose a kind of wrongdoing from the list.
error-field-too-long = One of the fields is too long.
error-too-many-files = Too many attachments in one report.
error-too-large = The submission is too large.
error-bad-request = The submission could not be read. Please try again.
error-not-found = Page not found.
error-busy = The service is busy or its storage is full. Your report has not been stored; please try again later.
error-timeout = The submission took too long. Please try again.
error-rate = Too many requests right now. Please try again in a moment.
back = Back
