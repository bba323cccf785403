import { jobActionCommand } from "../client/job-action.ts";

export default jobActionCommand("retry", "Run an ended job again as a new attempt linked to the first", "queued");
