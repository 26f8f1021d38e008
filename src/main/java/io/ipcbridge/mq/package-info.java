/** POSIX message queues: {@link io.ipcbridge.mq.MessageQueue}. */
package io.ipcbridge.mq;
