/* The choices page (notesqml@choices in settings.conf): what the nixos-offline
 * job's check step left in globalstorage, one line per choice made on the
 * pages and whether it applies or the configuration overrides it, so nothing
 * chosen is silently ignored. Read each time the page is shown (onActivate),
 * after the check ran. QtQuick alone: the same file loads on Qt 5 and Qt 6.
 */
import QtQuick 2.15
import io.calamares.core 1.0

Item {
    id: page
    width: 740
    height: 420

    property var lines: []
    property string source: ""

    function read(key) {
        // Global.value() of a key nobody set logs a warning.
        return Global.contains(key) ? Global.value(key) : null
    }

    function onActivate() {
        page.lines = read("nixosOfflineChoiceLines") || []
        page.source = read("nixosOfflineSource") || ""
        console.log("nixos-offline choices page: " + page.lines.length + " lines")
    }

    Flickable {
        anchors.fill: parent
        anchors.margins: 16
        contentHeight: column.height
        clip: true

        Column {
            id: column
            width: parent.width
            spacing: 10

            Text {
                width: parent.width
                wrapMode: Text.WordWrap
                font.bold: true
                font.pointSize: 14
                text: "Your choices and the configuration"
            }
            Text {
                width: parent.width
                wrapMode: Text.WordWrap
                text: page.lines.length === 0
                    ? "No choices were checked."
                    : "The configuration" + (page.source ? " in " + page.source : "") + " was checked with what you chose. "
                      + "Where it sets something itself, its value wins over yours."
            }
            Repeater {
                model: page.lines
                Text {
                    width: column.width
                    wrapMode: Text.WordWrap
                    font.pointSize: 12
                    text: modelData
                }
            }
        }
    }
}
