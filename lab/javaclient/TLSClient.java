import java.io.InputStream;
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;

/**
 * Fetches one HTTPS URL with HttpsURLConnection and the JVM's default SSLContext, which the
 * javax.net.ssl.* system properties configure (truststore, keystore), and prints the full
 * stack trace of any failure, causes included.
 *
 * Usage: java TLSClient URL [TIMEOUT_MS]
 */
public class TLSClient {
    public static void main(String[] args) {
        int timeout = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        try {
            HttpsURLConnection conn = (HttpsURLConnection) new URL(args[0]).openConnection();
            conn.setConnectTimeout(timeout);
            conn.setReadTimeout(timeout);
            int status = conn.getResponseCode();
            System.out.println("HTTP " + status + " " + conn.getCipherSuite());
            try (InputStream in = status < 400 ? conn.getInputStream() : conn.getErrorStream()) {
                if (in != null) {
                    System.out.write(in.readAllBytes());
                }
            }
            System.out.flush();
            System.exit(status < 400 ? 0 : 2);
        } catch (Exception e) {
            e.printStackTrace();
            System.exit(1);
        }
    }
}
