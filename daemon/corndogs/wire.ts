/**
 * Messages of corndogs.proto as they travel through @grpc/grpc-js with our loader options
 * (daemon/corndogs/proto.ts): field names as in the proto, int64 as decimal strings (outgoing int64
 * may also be bigint, converted before encoding), bytes as Buffer, unset messages as null.
 */
export type Int64 = string;

export interface WireTask {
  uuid: string;
  queue: string;
  current_state: string;
  auto_target_state: string;
  submit_time: Int64;
  update_time: Int64;
  timeout: Int64;
  payload: Buffer;
  priority: Int64;
}

export interface SubmitTaskRequest {
  queue: string;
  current_state: string;
  auto_target_state: string;
  timeout: Int64;
  payload: Buffer;
  priority: Int64;
}
export interface GetTaskStateByIDRequest {
  uuid: string;
  queue: string;
}
export interface GetNextTaskRequest {
  queue: string;
  current_state: string;
  override_timeout: Int64;
  override_current_state: string;
  override_auto_target_state: string;
}
export interface UpdateTaskRequest {
  uuid: string;
  queue: string;
  current_state: string;
  auto_target_state: string;
  timeout: Int64;
  new_state: string;
  payload: Buffer;
  priority: Int64;
}
/** CompleteTaskRequest and CancelTaskRequest share this shape. */
export interface FinishTaskRequest {
  uuid: string;
  queue: string;
  current_state: string;
}
export interface CleanUpTimedOutRequest {
  at_time: Int64;
  queue: string;
}
export interface GetTaskStateCountsRequest {
  queue: string;
}
export type Empty = Record<string, never>;

/** SubmitTask, GetTaskStateByID, GetNextTask, UpdateTask, CompleteTask and CancelTask reply with this. */
export interface TaskResponse {
  task: WireTask | null;
}
export interface CleanUpTimedOutResponse {
  timed_out: Int64;
}
export interface GetQueuesResponse {
  queues: string[];
  total_task_count: Int64;
}
export interface GetQueueTaskCountsResponse {
  queue_counts: Record<string, Int64>;
  total_task_count: Int64;
}
export interface GetTaskStateCountsResponse {
  queue: string;
  count: Int64;
  state_counts: Record<string, Int64>;
}
export interface QueueAndStateCounts {
  queue: string;
  count: Int64;
  state_counts: Record<string, Int64>;
}
export interface GetQueueAndStateCountsResponse {
  queue_and_state_counts: Record<string, QueueAndStateCounts>;
}

/** Request and response type of each of the eleven RPCs. */
export interface CorndogsRpcs {
  SubmitTask: [SubmitTaskRequest, TaskResponse];
  GetTaskStateByID: [GetTaskStateByIDRequest, TaskResponse];
  GetNextTask: [GetNextTaskRequest, TaskResponse];
  UpdateTask: [UpdateTaskRequest, TaskResponse];
  CompleteTask: [FinishTaskRequest, TaskResponse];
  CancelTask: [FinishTaskRequest, TaskResponse];
  CleanUpTimedOut: [CleanUpTimedOutRequest, CleanUpTimedOutResponse];
  GetQueues: [Empty, GetQueuesResponse];
  GetQueueTaskCounts: [Empty, GetQueueTaskCountsResponse];
  GetTaskStateCounts: [GetTaskStateCountsRequest, GetTaskStateCountsResponse];
  GetQueueAndStateCounts: [Empty, GetQueueAndStateCountsResponse];
}
export type RpcName = keyof CorndogsRpcs;

/** StreamTasks (our addition, corndogs.proto): what the consumer sends. */
export interface StreamTasksRequest {
  /** First message only (null after it). */
  claim: GetNextTaskRequest | null;
  credit: number;
  complete: StreamCompletion[];
}
export interface StreamCompletion {
  id: number;
  request: FinishTaskRequest;
}
export interface StreamCompletionResult {
  id: number;
  task: WireTask | null;
  /** gRPC status code; 0 is OK. */
  code: number;
  details: string;
}
/** StreamTasks: what the server pushes. */
export interface StreamTasksResponse {
  tasks: WireTask[];
  completed: StreamCompletionResult[];
}
