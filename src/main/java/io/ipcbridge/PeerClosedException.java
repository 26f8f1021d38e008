package io.ipcbridge;

/** EPIPE: the other end has gone (the reader of a pipe or FIFO closed it); SIGPIPE is never raised. */
public class PeerClosedException extends ErrnoException {
    private static final long serialVersionUID = 1L;

    /** A write by {@code call} to {@code object} found no reader. */
    public PeerClosedException(String call, String object, int errno) {
        super(call, object, errno, "the reading end has been closed");
    }
}
