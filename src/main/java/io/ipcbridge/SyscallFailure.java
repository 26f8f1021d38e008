package io.ipcbridge;

import io.ipcbridge.internal.posix.Errors;

/**
 * A system call that failed: which call, on which object, with which errno.
 *
 * @param call the call, e.g. {@code "mq_open"}
 * @param object its path, name or descriptor, e.g. {@code "/orders"}
 * @param errno the errno number
 */
public record SyscallFailure(String call, String object, int errno) implements java.io.Serializable {
    /** The errno symbol, e.g. {@code "EEXIST"}, as glibc names it. */
    public String errnoName() {
        return Errors.name(errno);
    }

    /** {@code call(object): ENAME (text)}, then {@code : detail} when {@code detail} is not null. */
    public String message(String detail) {
        return Errors.message(call, object, errno, detail);
    }
}
