import { jobActionCommand } from "../client/job-action.ts";

export default jobActionCommand("cancel", "Cancel a queued or running job", "cancelled");
