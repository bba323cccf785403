import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from "@tanstack/virtual-core";
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { SYSTEM_MARK } from "../../../../runner/protocol/log-line.ts";
import { ansiSegments } from "./ansi.ts";

/** Every line has one height, so 100,000 lines cost only the ~60 rows on screen. */
export const ROW_HEIGHT = 18;

export interface LogViewProps {
  lines: readonly string[];
  /** Bumped when lines were appended (the array is appended to in place). */
  version: number;
  follow: boolean;
  onFollowChange(follow: boolean): void;
  /** Line numbers (1-based) that match the search, and which of them is current. */
  matches: readonly number[];
  current: number | null;
  /** 1-based line picked by #L42. */
  selected: number | null;
  onSelect(line: number): void;
}

function Line({ text }: { text: string }) {
  const segments = useMemo(() => ansiSegments(text), [text]);
  return (
    <>
      {segments.map((s, i) =>
        s.color || s.background || s.classes ? (
          <span key={i} class={s.classes} style={{ color: s.color, backgroundColor: s.background }}>
            {s.text}
          </span>
        ) : (
          s.text
        ),
      )}
    </>
  );
}

/** The job's log, virtualised (@tanstack/virtual-core): only the rows in view are in the DOM. */
export function LogView(props: LogViewProps) {
  const scroller = useRef<HTMLDivElement>(null);
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const followRef = useRef(props.follow);
  followRef.current = props.follow;
  const [virtualizer] = useState(
    () =>
      new Virtualizer<HTMLDivElement, HTMLDivElement>({
        count: props.lines.length,
        getScrollElement: () => scroller.current,
        estimateSize: () => ROW_HEIGHT,
        overscan: 40,
        scrollToFn: elementScroll,
        observeElementRect,
        observeElementOffset,
        onChange: () => rerender(0),
      }),
  );
  virtualizer.setOptions({ ...virtualizer.options, count: props.lines.length });
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());

  // Following: new lines scroll into view.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (props.follow && el) el.scrollTop = el.scrollHeight;
  }, [props.version, props.follow, props.lines.length]);

  // A line picked by the address (#L42) or by the search is brought into view when it is picked
  // (or once the log has reached it), whichever was picked last.
  const reveal = (line: number | null) => {
    if (line !== null && line >= 1 && line <= props.lines.length) virtualizer.scrollToIndex(line - 1, { align: "center" });
  };
  useEffect(() => reveal(props.selected), [props.selected, props.lines.length >= (props.selected ?? 0)]);
  useEffect(() => reveal(props.current), [props.current]);

  const matchSet = useMemo(() => new Set(props.matches), [props.matches]);
  const items = virtualizer.getVirtualItems();
  const total = virtualizer.getTotalSize();
  const top = items[0]?.start ?? 0;
  const bottom = total - (items.at(-1)?.end ?? 0);
  const digits = String(props.lines.length).length;

  return (
    <div
      class="log"
      ref={scroller}
      data-testid="log"
      tabIndex={0}
      onScroll={(e) => {
        // Scrolling up stops following; reaching the end again resumes it.
        const el = e.currentTarget;
        const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 2;
        if (followRef.current !== atEnd && (atEnd || virtualizer.scrollDirection === "backward")) props.onFollowChange(atEnd);
      }}
    >
      <div class="log-inner" style={{ paddingTop: `${top}px`, paddingBottom: `${bottom}px`, "--digits": String(digits) }}>
        {items.map((item) => {
          const n = item.index + 1;
          const system = props.lines[item.index]?.startsWith(SYSTEM_MARK);
          const cls = ["log-line", system && "system", n === props.selected && "selected", matchSet.has(n) && "match", n === props.current && "current"].filter(Boolean).join(" ");
          return (
            <div key={item.key} class={cls} data-line={n}>
              <a
                class="ln"
                href={`#L${n}`}
                id={`L${n}`}
                onClick={(e) => {
                  e.preventDefault();
                  props.onSelect(n);
                }}
              >
                {n}
              </a>
              <span class="text">
                <Line text={props.lines[item.index] ?? ""} />
              </span>
            </div>
          );
        })}
      </div>
    </div>
  );
}
