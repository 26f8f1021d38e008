package io.ipcbridge.cli;

/**
 * An outcome a command reports with its own exit status and one stderr line, such as a timeout
 * (exit 3) or an input refused by the command itself (exit 1). A closed stdout carries no message:
 * the command stops quietly, as a command killed by SIGPIPE does.
 */
final class CommandFailure extends Exception {
    private static final long serialVersionUID = 1L;
    private final int exitCode;

    private CommandFailure(int exitCode, String message) {
        this(exitCode, message, null);
    }

    private CommandFailure(int exitCode, String message, Throwable cause) {
        super(message, cause, false, false);
        this.exitCode = exitCode;
    }

    /** Exit 3: {@code message} says what did not happen in time, e.g. "the peer did not start within 10s". */
    static CommandFailure timedOut(String message) {
        return new CommandFailure(ExitCodes.TIMED_OUT, message);
    }

    /**
     * Exit 3 for a timed wait that expired, in the errno form of the call (CLI-02):
     * {@code call(object): ETIMEDOUT (Connection timed out): detail}.
     */
    static CommandFailure timedOut(String call, String object, String detail) {
        return timedOut(call + "(" + object + "): ETIMEDOUT (Connection timed out): " + detail);
    }

    /**
     * Exit 3 for a call that would have blocked:
     * {@code call(object): EAGAIN (Resource temporarily unavailable): detail}.
     */
    static CommandFailure wouldBlock(String call, String object, String detail) {
        return timedOut(call + "(" + object + "): EAGAIN (Resource temporarily unavailable): " + detail);
    }

    /** Exit 1: the command refused to go on; {@code message} says why. */
    static CommandFailure refused(String message) {
        return new CommandFailure(ExitCodes.FAILED, message);
    }

    /**
     * Exit 1 for an {@link Error} a command ended with: its one line from {@link ExitCodes#describe};
     * the Error stays the cause, whose stack trace {@code IPCBRIDGE_DEBUG} prints.
     */
    static CommandFailure internal(Error cause) {
        return new CommandFailure(ExitCodes.FAILED, ExitCodes.describe(cause), cause);
    }

    /** Exit 141 (128 + SIGPIPE) and no message: the reader of stdout has gone. */
    static CommandFailure stdoutClosed() {
        return new CommandFailure(ExitCodes.STDOUT_CLOSED, null);
    }

    /** This failure with {@code detail} appended to its message; a quiet one stays as it is. */
    CommandFailure withDetail(String detail) {
        return quiet() ? this : new CommandFailure(exitCode, getMessage() + detail);
    }

    /** The exit status. */
    int exitCode() {
        return exitCode;
    }

    /** Whether nothing is to be printed. */
    boolean quiet() {
        return getMessage() == null;
    }
}
