// JavaMail (Debian's libmail-java, javax.mail 1.6) through snigate, for snigate's e2e tests
// (tests/e2e/test_mail_drivers.py compiles it with javac into a temporary directory).
//
//   java -Djdk.net.hosts.file=HOSTS -cp DIR:/usr/share/java/javax.mail.jar MailClient send \
//        --host NAME --port P --ca CAFILE --user U --password PW --from F --to T --subject S
//   java ... MailClient read --host NAME --port P --ca CAFILE --user U --password PW --subject S
//
// NAME is the server's name as a user would configure it: the JVM resolves it through the hosts
// file HOSTS (no /etc/hosts entry needed), JavaMail sends it as SNI and checks the certificate
// against it (mail.<proto>.ssl.checkserveridentity). Both protocols start in plain text and must
// upgrade (mail.<proto>.starttls.required); the certificate chain is verified against CAFILE only
// (a trust store made from the test CA, given to JavaMail as mail.<proto>.ssl.socketFactory).
//
// With --host 127.0.0.1 --checkserveridentity false, JavaMail sends no SNI (Java sends none for an
// address) and checks no name, as an application configured with an address must; the chain is
// still verified against CAFILE.
//
// Prints one JSON line: send {"ok": true, "response": "250 ..."}, read {"ok": true, "messages":
// [RAW, ...]}, or {"ok": false, "exception": CLASS, "error": MESSAGE, "causes": ["CLASS: MESSAGE",
// ...]}; each with "transcript": JavaMail's debug output (mail.debug), one line an element.
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import javax.mail.Folder;
import javax.mail.Message;
import javax.mail.Session;
import javax.mail.Store;
import javax.mail.Transport;
import javax.mail.internet.InternetAddress;
import javax.mail.internet.MimeMessage;
import javax.mail.search.SubjectTerm;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

import com.sun.mail.smtp.SMTPTransport;

public class MailClient {
    public static void main(String[] argv) {
        String mode = argv.length > 0 ? argv[0] : "";
        Map<String, String> a = new HashMap<>();
        for (int i = 1; i + 1 < argv.length; i += 2) {
            a.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
        }
        ByteArrayOutputStream debug = new ByteArrayOutputStream();
        StringBuilder out = new StringBuilder("{");
        try {
            String proto = mode.equals("send") ? "smtp" : mode.equals("read") ? "imap" : null;
            if (proto == null) {
                throw new IllegalArgumentException("mode must be send or read, not '" + mode + "'");
            }
            Session session = Session.getInstance(props(proto, a));
            session.setDebugOut(new PrintStream(debug, true, "UTF-8"));
            session.setDebug(true);
            String result = proto.equals("smtp") ? "\"response\": " + json(send(session, a).trim())
                                                 : "\"messages\": " + json(read(session, a));
            out.append("\"ok\": true, ").append(result);
        } catch (Exception e) {
            List<String> causes = new ArrayList<>();
            for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
                causes.add(t.getClass().getName() + ": " + t.getMessage());
                if (t instanceof javax.mail.MessagingException && t.getCause() == null) {
                    Exception next = ((javax.mail.MessagingException) t).getNextException();
                    if (next != null && next != t) {
                        causes.add(next.getClass().getName() + ": " + next.getMessage());
                    }
                }
            }
            out.append("\"ok\": false, \"exception\": ").append(json(e.getClass().getName()))
               .append(", \"error\": ").append(json(String.valueOf(e.getMessage())))
               .append(", \"causes\": ").append(json(causes));
        }
        List<String> transcript = new ArrayList<>();
        for (String line : new String(debug.toByteArray(), StandardCharsets.UTF_8).split("\r?\n")) {
            if (!line.isEmpty()) {
                transcript.add(line);
            }
        }
        out.append(", \"transcript\": ").append(json(transcript)).append("}");
        System.out.println(out);
    }

    static Properties props(String proto, Map<String, String> a) throws Exception {
        String p = "mail." + proto + ".";
        Properties props = new Properties();
        props.put(p + "host", a.get("host"));
        props.put(p + "port", a.get("port"));
        props.put(p + "starttls.enable", "true");
        props.put(p + "starttls.required", "true");
        props.put(p + "ssl.checkserveridentity", a.getOrDefault("checkserveridentity", "true"));
        props.put(p + "ssl.socketFactory", socketFactory(a.get("ca")));
        props.put(p + "connectiontimeout", "5000");
        props.put(p + "timeout", "10000");
        props.put(p + "writetimeout", "10000");
        if (proto.equals("smtp")) {
            props.put(p + "auth", "true");
            props.put(p + "localhost", "client.test");
        }
        return props;
    }

    /** TLS that trusts the test CA and nothing else. */
    static SSLSocketFactory socketFactory(String caFile) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = new FileInputStream(caFile)) {
            int n = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                trust.setCertificateEntry("ca" + n++, c);
            }
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx.getSocketFactory();
    }

    static String send(Session session, Map<String, String> a) throws Exception {
        MimeMessage msg = new MimeMessage(session);
        msg.setFrom(new InternetAddress(a.get("from")));
        msg.setRecipients(Message.RecipientType.TO, InternetAddress.parse(a.get("to")));
        msg.setSubject(a.get("subject"));
        msg.setText("via snigate, sent by JavaMail\r\n");
        SMTPTransport t = (SMTPTransport) session.getTransport("smtp");
        try {
            t.connect(a.get("user"), a.get("password"));
            t.sendMessage(msg, msg.getAllRecipients());
            return t.getLastServerResponse();
        } finally {
            t.close();
        }
    }

    static List<String> read(Session session, Map<String, String> a) throws Exception {
        Store store = session.getStore("imap");
        List<String> found = new ArrayList<>();
        try {
            store.connect(a.get("user"), a.get("password"));
            Folder inbox = store.getFolder("INBOX");
            inbox.open(Folder.READ_ONLY);
            try {
                for (Message m : inbox.search(new SubjectTerm(a.get("subject")))) {
                    ByteArrayOutputStream raw = new ByteArrayOutputStream();
                    m.writeTo(raw);
                    found.add(new String(raw.toByteArray(), StandardCharsets.UTF_8));
                }
            } finally {
                inbox.close(false);
            }
        } finally {
            store.close();
        }
        return found;
    }

    static String json(Object o) {
        if (o instanceof List) {
            StringBuilder b = new StringBuilder("[");
            for (Object e : (List<?>) o) {
                b.append(b.length() > 1 ? ", " : "").append(json(e));
            }
            return b.append("]").toString();
        }
        String s = String.valueOf(o);
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append("\"").toString();
    }
}
