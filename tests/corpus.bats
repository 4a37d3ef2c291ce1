#!/usr/bin/env bats
# scripts/build-corpus: its .mo reader and cleaning rules 1-11
# (shared/corpus.md) on hand-made entries, through tests/corpus-clean.py.
# No network: the download and the split are not tested here.
load helper

setup() {
	T=$BATS_TEST_TMPDIR
}

# clean LANG LINE...: each LINE is "en<TAB>tgt[<TAB>msgctxt]"
clean() {
	local lang=$1
	shift
	printf '%s\n' "$@" | "$PY" "$SRCDIR/tests/corpus-clean.py" "$lang"
}

@test "corpus: rule 1 reads a .mo: header charset, msgctxt, plurals" {
	cat > "$T/de.po" <<-'PO'
	msgid ""
	msgstr ""
	"Content-Type: text/plain; charset=ISO-8859-1\n"
	"Plural-Forms: nplurals=2; plural=(n != 1);\n"

	msgctxt "verb"
	msgid "Open"
	msgstr "Öffnen"

	msgid "%d file"
	msgid_plural "%d files"
	msgstr[0] "%d Datei"
	msgstr[1] "%d Dateien"
	PO
	iconv -f UTF-8 -t ISO-8859-1 "$T/de.po" > "$T/latin1.po"
	msgfmt -o "$T/de.mo" "$T/latin1.po"
	run "$PY" "$SRCDIR/tests/corpus-clean.py" --mo de "$T/de.mo"
	assert_success
	assert_output - <<-'OUT'
	'' '%d file' '%d Datei'
	'' '%d files' '%d Dateien'
	'verb' 'Open' 'Öffnen'
	OUT
	# nplurals=1 (zh, ja): msgid_plural with msgstr[0]
	cat > "$T/zh.po" <<-'PO'
	msgid ""
	msgstr ""
	"Content-Type: text/plain; charset=UTF-8\n"
	"Plural-Forms: nplurals=1; plural=0;\n"

	msgid "%d file"
	msgid_plural "%d files"
	msgstr[0] "%d 个文件"
	PO
	msgfmt -o "$T/zh.mo" "$T/zh.po"
	run "$PY" "$SRCDIR/tests/corpus-clean.py" --mo zh_CN "$T/zh.mo"
	assert_output "'' '%d files' '%d 个文件'"
}

@test "corpus: rule 1 reads a .po: fuzzy and obsolete entries skipped" {
	cat > "$T/de.po" <<-'PO'
	# header comment
	msgid ""
	msgstr ""
	"Content-Type: text/plain; charset=UTF-8\n"

	#. wiFk3
	#: 02110000.xhp
	msgctxt ""
	"02110000.xhp\n"
	"tit\n"
	"help.text"
	msgid "Toggle \"Ordered\" "
	"List"
	msgstr "Sortierte Liste "
	"umschalten"

	#, fuzzy
	msgid "Close"
	msgstr "Schließen"

	#~ msgid "Old"
	#~ msgstr "Alt"

	msgid "Tab\there"
	msgstr "Tab\thier"
	PO
	run "$PY" "$SRCDIR/tests/corpus-clean.py" --po de "$T/de.po"
	assert_success
	assert_output - <<-'OUT'
	'02110000.xhp\ntit\nhelp.text' 'Toggle "Ordered" List' 'Sortierte Liste umschalten'
	'' 'Tab\there' 'Tab\thier'
	OUT
}

@test "corpus: DDTP descriptions in paragraphs, bullet lists item by item" {
	cat > "$T/desc" <<-'DESC'
	office productivity suite
	 LibreOffice is a full-featured office productivity suite
	 that provides a near drop-in replacement for MS Office.
	 .
	 This package contains:
	  * a word processor;
	  * a spreadsheet, with
	    charts.
	DESC
	run "$PY" "$SRCDIR/tests/corpus-clean.py" --ddtp "$T/desc"
	assert_output - <<-'OUT'
	office productivity suite
	LibreOffice is a full-featured office productivity suite that provides a near drop-in replacement for MS Office.
	This package contains: | a word processor; | a spreadsheet, with charts.
	OUT
}

@test "corpus: rule 2 drops empty translations and translator meta entries" {
	run clean de $'Open\t' $'translator-credits\tIch' $'Your names\tIch\tNAME OF TRANSLATORS' \
	    $'Hello\tHallo\tTranslators: keep short' $'_: KDE comment\\nFile\tDatei'
	assert_output - <<-'OUT'
	drop: 2 empty
	drop: 2 meta
	drop: 2 meta
	drop: 2 meta
	drop: 2 meta
	OUT
}

@test "corpus: rule 3 normalises spaces, invisible characters, NFC" {
	# UTF-8 bytes, not \u escapes: bash writes those as UTF-8 only in a
	# UTF-8 locale (U+00A0, U+200B; U+202F, U+00AD; U+0301; U+00E9)
	run clean de $'Hello\xc2\xa0world\xe2\x80\x8b\tHallo\xe2\x80\xafWelt\xc2\xad' \
	    $'Cafe\xcc\x81 open\tCaf\xc3\xa9 offen'
	assert_output - <<-OUT
	Hello world => Hallo Welt
	Café open => Café offen
	OUT
}

@test "corpus: rule 4 aligns paragraphs, drops unequal counts and columns" {
	run clean de 'First one.\n\nSecond\nline.	Erster.\n\nZweite\nZeile.' \
	    'One.\n\nTwo.	Eins. Zwei.' \
	    'Options:\n  -h, --help     show this help	Optionen:\n  -h, --help     diese Hilfe' \
	    '-v prints more\nabout it	-v gibt mehr\ndazu aus' \
	    'Sure?  Really?	Sicher?  Wirklich?'
	assert_output - <<-'OUT'
	First one. => Erster.
	Second line. => Zweite Zeile.
	drop: 4 paragraphs
	drop: 4 columns
	drop: 4 columns
	Sure? Really? => Sicher? Wirklich?
	OUT
}

@test "corpus: rules 5 and 6 drop index keywords, menu paths, identifiers" {
	run clean de '<bookmark_value>frames;unlinking</bookmark_value>	<bookmark_value>Rahmen;lösen</bookmark_value>'
	assert_output "drop: 5 lo-index/menu-path"
	run clean de $'/_File/_Open\t/_Datei/_Öffnen' $'/usr/share/doc\t/usr/share/doc' \
	    $'http://example.org/\thttp://example.org/' $'user@example.org\tuser@example.org' \
	    $'config.txt\tconfig.txt' $'MAX_SIZE\tMAX_SIZE' $'show_hidden\tshow_hidden' \
	    $'Folder\tOrdner'
	assert_output - <<-'OUT'
	drop: 5 lo-index/menu-path
	drop: 6 identifier
	drop: 6 identifier
	drop: 6 identifier
	drop: 6 identifier
	drop: 6 identifier
	drop: 6 identifier
	Folder => Ordner
	OUT
}

@test "corpus: rule 7 needs the same placeholders on both sides" {
	run clean de $'Copy %1$s to %2$s\t%2$s nach %1$s kopieren' \
	    $'Copy %s to %s\t%s kopieren' $'%(count)d of %(total)d done\t%(count)d von %(total)d fertig' \
	    $'Open {0} with %1\t{0} mit %1 öffnen' $'Loading {name}…\tLade {Name} …' \
	    $'100%% done with %s\t%s zu 100%% fertig' $'%1x%2 pixels\t%1×%2 Pixel' \
	    $'%C23*%O$tTopic set\t%C23*%O$tThema gesetzt'
	assert_output - <<-'OUT'
	Copy %1$s to %2$s => %2$s nach %1$s kopieren
	drop: 7 placeholders
	%(count)d of %(total)d done => %(count)d von %(total)d fertig
	Open {0} with %1 => {0} mit %1 öffnen
	drop: 7 placeholders
	100%% done with %s => %s zu 100%% fertig
	%1x%2 pixels => %1×%2 Pixel
	%C23*%O$tTopic set => %C23*%O$tThema gesetzt
	OUT
}

@test "corpus: rule 8 removes GTK, Qt and CJK accelerators" {
	run clean de $'_Open\tÖ_ffnen' $'&Save File\tDatei &speichern' \
	    $'Set GTK_THEME to _dark\tGTK_THEME auf _dunkel setzen' \
	    $'Tom && Jerry\tTom && Jerry und Co'
	assert_output - <<-'OUT'
	Open => Öffnen
	Save File => Datei speichern
	Set GTK_THEME to dark => GTK_THEME auf dunkel setzen
	Tom & Jerry => Tom & Jerry und Co
	OUT
	run clean zh_CN $'_Open\t打开(_O)'
	assert_output "Open => 打开"
}

@test "corpus: rule 9 strips matching markup and unescapes entities" {
	run clean de $'<b>Bold</b> text\t<b>Fetter</b> Text' $'<b>Bold</b> text\tFetter Text' \
	    $'<p>One</p><p>Two &amp; three</p>\t<p>Eins</p><p>Zwei &amp; drei</p>' \
	    $'Usage: foo <command>\tAufruf: foo <Befehl>' \
	    '<ahelp hid=".">Press <switchinline select="sys"><caseinline select="MAC">Command</caseinline><defaultinline>Ctrl</defaultinline></switchinline>+C.</ahelp>	<ahelp hid=".">Drücken Sie <switchinline select="sys"><caseinline select="MAC">Befehl</caseinline><defaultinline>Strg</defaultinline></switchinline>+C.</ahelp>'
	assert_output - <<-'OUT'
	Bold text => Fetter Text
	drop: 9 markup
	One Two & three => Eins Zwei & drei
	Usage: foo <command> => Aufruf: foo <Befehl>
	Press Ctrl+C. => Drücken Sie Strg+C.
	OUT
}

@test "corpus: rule 10 splits long entries into aligned sentences" {
	local en de
	en="This long sentence goes on for quite a while, e.g. with an abbreviation in the middle of it."
	en="$en And here is a second sentence that pushes the entry well past the limit of two hundred characters of English. A third!"
	de="Dieser lange Satz geht eine ganze Weile weiter, z. B. mit einer Abkürzung mitten darin."
	de="$de Und hier ist ein zweiter Satz, der den Eintrag deutlich über die Grenze von zweihundert Zeichen Englisch bringt. Ein dritter!"
	run clean de "$en	$de" "$en	${de% Ein dritter!}"
	assert_output - <<-'OUT'
	This long sentence goes on for quite a while, e.g. with an abbreviation in the middle of it. => Dieser lange Satz geht eine ganze Weile weiter, z. B. mit einer Abkürzung mitten darin.
	And here is a second sentence that pushes the entry well past the limit of two hundred characters of English. => Und hier ist ein zweiter Satz, der den Eintrag deutlich über die Grenze von zweihundert Zeichen Englisch bringt.
	A third! => Ein dritter!
	drop: 10 sentences
	OUT
}

@test "corpus: rule 11 drops non-words, keyword lists, copies, bad ratios" {
	run clean de $'%s: %d\t%s: %d' $'Text;Editor;Plain;\tText;Editor;Einfach;' \
	    $'Version\tVersion' $'Close the window and quit\tSchließen' $'Close\tSchließen'
	assert_output - <<-'OUT'
	drop: 11 no-word
	drop: 11 keywords
	drop: 11 identical
	drop: 11 ratio
	Close => Schließen
	OUT
	run clean ja $'Open\tOpen file' $'Open\t開く'
	assert_output - <<-'OUT'
	drop: 11 no-cjk
	Open => 開く
	OUT
}
