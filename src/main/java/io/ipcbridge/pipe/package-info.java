/** Anonymous pipes and FIFOs: {@link io.ipcbridge.pipe.Pipe}, {@link io.ipcbridge.pipe.Fifo}. */
package io.ipcbridge.pipe;
