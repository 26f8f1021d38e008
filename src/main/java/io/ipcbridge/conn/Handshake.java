package io.ipcbridge.conn;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The authkey handshake of {@code multiprocessing.connection}, both generations:
 * <ul>
 * <li>legacy (Python 3.11 and earlier): the challenge is {@code #CHALLENGE#} and 20 random bytes;
 *     the answer is the raw HMAC-MD5 of those bytes;</li>
 * <li>digest-prefixed (Python 3.12+): the challenge is {@code #CHALLENGE#{sha256}} and 40 random
 *     bytes; the answer is {@code {sha256}} and the HMAC-SHA256 of the whole message after
 *     {@code #CHALLENGE#}, prefix included.</li>
 * </ul>
 * Then {@code #WELCOME#} or {@code #FAILURE#}. This side challenges with the 3.12 form, which a 3.11
 * peer answers with a raw HMAC-MD5 over the whole message (accepted, as 3.12 accepts it), and
 * answers either form.
 */
final class Handshake {
    static final byte[] CHALLENGE = ascii("#CHALLENGE#");
    static final byte[] WELCOME = ascii("#WELCOME#");
    static final byte[] FAILURE = ascii("#FAILURE#");
    private static final int LEGACY_MESSAGE = 20;
    private static final int MD5_LENGTH = 16;
    private static final int MESSAGE = 40;
    private static final int MAX_REPLY = 256;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Handshake() {
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** deliver_challenge: sends a challenge, checks the answer, replies welcome or failure. */
    static void deliver(Connection c, byte[] authkey, long deadline) throws IOException {
        byte[] random = new byte[MESSAGE];
        RANDOM.nextBytes(random);
        byte[] message = concat(ascii("{sha256}"), random);
        c.sendBytes(concat(CHALLENGE, message));
        byte[] response = receiveBounded(c, deadline);
        if (!verify(authkey, message, response)) {
            AuthenticationException wrong = new AuthenticationException(c.name(),
                    "the peer's digest was wrong (another authkey)");
            try {
                c.sendBytes(FAILURE);
            } catch (IOException e) {
                wrong.addSuppressed(e); // the peer did not stay for the verdict (EPIPE)
            }
            throw wrong;
        }
        c.sendBytes(WELCOME);
    }

    /** answer_challenge: answers the peer's challenge and expects its welcome. */
    static void answer(Connection c, byte[] authkey, long deadline) throws IOException {
        byte[] challenge = receiveBounded(c, deadline);
        if (challenge.length < CHALLENGE.length
                || !Arrays.equals(challenge, 0, CHALLENGE.length, CHALLENGE, 0, CHALLENGE.length)) {
            c.close();
            throw new ProtocolException(c.name(), "expected #CHALLENGE#, got " + challenge.length + " other bytes");
        }
        byte[] message = Arrays.copyOfRange(challenge, CHALLENGE.length, challenge.length);
        if (message.length < LEGACY_MESSAGE) {
            c.close();
            throw new ProtocolException(c.name(), "a challenge of " + message.length + " bytes is too short");
        }
        c.sendBytes(response(authkey, message));
        if (!Arrays.equals(receiveBounded(c, deadline), WELCOME)) {
            throw new AuthenticationException(c.name(), "the peer rejected our digest (another authkey)");
        }
    }

    /** _create_response: raw HMAC-MD5 for a legacy challenge, "{name}" + HMAC-name otherwise. */
    static byte[] response(byte[] authkey, byte[] message) throws IOException {
        String digest = digestName(message);
        if (digest == null) {
            return hmac("md5", authkey, message);
        }
        return concat(ascii("{" + digest + "}"), hmac(digest, authkey, message));
    }

    /** _verify_challenge: a prefixed answer names its digest; an unprefixed one is HMAC-MD5. */
    static boolean verify(byte[] authkey, byte[] message, byte[] response) throws IOException {
        String digest = digestName(response);
        byte[] mac = response;
        if (digest == null) {
            if (response.length != MD5_LENGTH && response.length != LEGACY_MESSAGE) {
                return false;
            }
            digest = "md5";
        } else {
            mac = Arrays.copyOfRange(response, digest.length() + 2, response.length);
        }
        return MessageDigest.isEqual(hmac(digest, authkey, message), mac);
    }

    /** The digest named by a "{name}" prefix of a (non-legacy) message, or null. */
    private static String digestName(byte[] message) {
        if (message.length == LEGACY_MESSAGE || message.length == MD5_LENGTH || message.length == 0
                || message[0] != '{') {
            return null;
        }
        for (int i = 1; i < Math.min(20, message.length); i++) {
            if (message[i] == '}') {
                String name = new String(message, 1, i - 1, StandardCharsets.US_ASCII);
                return javaName(name) != null ? name : null;
            }
        }
        return null;
    }

    /** CPython's _ALLOWED_DIGESTS names, as the JDK calls them. */
    private static String javaName(String python) {
        switch (python) {
            case "md5": return "HmacMD5";
            case "sha256": return "HmacSHA256";
            case "sha384": return "HmacSHA384";
            case "sha3_256": return "HmacSHA3-256";
            case "sha3_384": return "HmacSHA3-384";
            default: return null;
        }
    }

    private static byte[] hmac(String python, byte[] key, byte[] message) throws IOException {
        String algorithm = javaName(python);
        try {
            Mac mac = Mac.getInstance(algorithm);
            mac.init(new SecretKeySpec(key, algorithm));
            return mac.doFinal(message);
        } catch (GeneralSecurityException e) {
            throw new IOException("HMAC " + python + " is not available", e);
        }
    }

    /** A handshake message: small, and before {@code deadline} (a {@code Deadline}). */
    private static byte[] receiveBounded(Connection c, long deadline) throws IOException {
        c.setMaxMessageSize(MAX_REPLY);
        try {
            return c.recvBytes(deadline);
        } finally {
            c.setMaxMessageSize(Connection.DEFAULT_MAX_MESSAGE);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
