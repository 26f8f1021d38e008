package io.ipcbridge.process;

/**
 * How a child process or pipeline stage ended: an exit code, or the signal that killed it.
 *
 * @param code the exit code (0 to 255), or -1 when killed by a signal
 * @param signal the signal that killed it (1 to 64), or 0 when it exited
 */
public record ExitStatus(int code, int signal) {
    /** The SIGPIPE number, the usual end of an upstream stage whose reader has gone. */
    public static final int SIGPIPE = 13;

    /**
     * An exit with {@code code}, or (code -1) a kill by {@code signal}.
     *
     * @throws IllegalArgumentException for a status no process can end with
     */
    public ExitStatus {
        if (signal == 0 ? code < 0 || code > 255 : code != -1 || signal < 0 || signal > 64) {
            throw new IllegalArgumentException("no process ends with code " + code + " and signal " + signal
                    + ": an exit code is 0 to 255, a signal 1 to 64 with code -1");
        }
    }

    /** Decodes a waitpid(2) status word. */
    static ExitStatus fromWaitStatus(int status) {
        int termSignal = status & 0x7f;
        return termSignal == 0 ? exited((status >> 8) & 0xff) : new ExitStatus(-1, termSignal);
    }

    /** A normal exit with {@code code}. */
    public static ExitStatus exited(int code) {
        return new ExitStatus(code, 0);
    }

    /** Whether the process exited with code 0. */
    public boolean success() {
        return code == 0 && signal == 0;
    }

    /** As a shell reports it in {@code $?} and {@code PIPESTATUS}: the code, or 128 + the signal. */
    public int shellStatus() {
        return signal == 0 ? code : 128 + signal;
    }

    @Override
    public String toString() {
        return signal == 0 ? "exit " + code : "killed by signal " + signal;
    }
}
