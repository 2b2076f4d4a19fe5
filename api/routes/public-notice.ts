import { CallInput, Slug, type Call } from '../../domain/call';
import { durationInWords, type DurationText } from '../../domain/duration';
import { formatYuan } from '../../domain/money';
import type { PilotPhase } from '../../domain/pilot-state';
import { provinceKey, provinceName } from '../../domain/provinces';
import { formatBeijing } from '../../domain/time';
import type { ApiDeps } from '../deps';
import { publicNoticePage } from '../public-notice-page';
import { Problem } from '../problem';
import type { ApiRoutes } from '../registry';

/**
 * Pilots whose approval is not, or no longer, what the office announces: rejected, withdrawn and
 * 弄虚作假 ones, whatever notice they once had. (An objection sends a pilot back to review and
 * clears its notice dates, so it drops out by having none.)
 */
const NOT_ANNOUNCED: readonly PilotPhase[] = ['rejected', 'withdrawn', 'integrity_failed'];

/** Browsers and proxies may keep the list a minute: it changes with panel decisions, not by the second. */
const CACHE_CONTROL = 'public, max-age=60';

export interface PublicNoticeItem {
  pilotId: string;
  pilotUnitName: string;
  applicantUnitName: string;
  /** The official name (北京市, 浙江省, …) whether the row holds a GB/T 2260 code or a name. */
  province: string;
  themes: string[];
  approvedAmountFen: number;
  /** "360,000.00" (元) */
  approvedAmountYuan: string;
  publicNotice: { startedAt: string; endsAt: string; beijingTime: { startedAt: string; endsAt: string } };
  /** in-notice: objections may still be raised; completed: the notice period has passed. */
  status: 'in-notice' | 'completed';
  statusText: '公示中' | '公示期满';
}

export interface PublicNotice {
  callId: string;
  callName: string;
  /** The call's notice period as configured ("7d") and in words ("7 天"). */
  period: DurationText;
  periodText: string;
  /** Whom to address objections to: the programme office, as the call names it. */
  office: Pick<Call['office'], 'name' | 'contactName' | 'phone' | 'email'>;
  items: PublicNoticeItem[];
}

/**
 * 评审结果公示: the pilots of a call in their public notice or past it for the current review
 * round, as JSON and as the page an office publishes. Public: no token, limited per client,
 * cacheable for a minute. Only what a public notice prints: units, province, themes, amount,
 * dates; never contacts, actors or reasons.
 */
export function publicNoticeRoutes(routes: ApiRoutes, { db }: ApiDeps): void {
  async function publicNotice(callId: string): Promise<PublicNotice> {
    if (!Slug.safeParse(callId).success) throw new Problem('CALL_NOT_FOUND');
    const callRow = await db.call.findUnique({ where: { id: callId } });
    if (!callRow) throw new Problem('CALL_NOT_FOUND');
    const call = CallInput.parse(callRow.config);
    const rows = await db.pilot.findMany({
      where: {
        callId,
        phase: { notIn: [...NOT_ANNOUNCED] },
        approvedAmountFen: { not: null },
        publicNoticeStartedAt: { not: null },
        publicNoticeEndsAt: { not: null },
      },
      select: {
        id: true,
        pilotUnitName: true,
        applicantUnitName: true,
        province: true,
        themes: true,
        phase: true,
        approvedAmountFen: true,
        publicNoticeStartedAt: true,
        publicNoticeEndsAt: true,
      },
    });
    const now = Date.now();
    const items = rows
      // Provinces in GB/T 2260 order, as official lists go; units by name within a province.
      .sort(
        (a, b) =>
          provinceKey(a.province).localeCompare(provinceKey(b.province)) ||
          a.pilotUnitName.localeCompare(b.pilotUnitName, 'zh-CN'),
      )
      .map((r): PublicNoticeItem => {
        const startedAt = r.publicNoticeStartedAt!;
        const endsAt = r.publicNoticeEndsAt!;
        // The row's phase moves on once the workflow's timer has fired; the calendar says it first.
        const inNotice = r.phase === 'public_notice' && now < endsAt.getTime();
        return {
          pilotId: r.id,
          pilotUnitName: r.pilotUnitName,
          applicantUnitName: r.applicantUnitName,
          province: provinceName(r.province),
          themes: r.themes,
          approvedAmountFen: r.approvedAmountFen!,
          approvedAmountYuan: formatYuan(r.approvedAmountFen!),
          publicNotice: {
            startedAt: startedAt.toISOString(),
            endsAt: endsAt.toISOString(),
            beijingTime: { startedAt: formatBeijing(startedAt), endsAt: formatBeijing(endsAt) },
          },
          status: inNotice ? 'in-notice' : 'completed',
          statusText: inNotice ? '公示中' : '公示期满',
        };
      });
    const { name, contactName, phone, email } = call.office;
    return {
      callId: call.id,
      callName: call.name,
      period: call.timing.publicNoticePeriod,
      periodText: durationInWords(call.timing.publicNoticePeriod),
      office: { name, contactName, phone, email },
      items,
    };
  }

  routes.add(
    {
      method: 'get',
      path: '/calls/:callId/public-notice',
      roles: 'public',
      rateLimited: true,
      summary: '评审结果公示名单（公开）/ Pilots in or past their public notice (public)',
      tag: 'calls',
    },
    async (req, res) => {
      const notice = await publicNotice(req.params.callId as string);
      res.set('Cache-Control', CACHE_CONTROL).json(notice);
    },
  );

  routes.add(
    {
      method: 'get',
      path: '/calls/:callId/public-notice.html',
      roles: 'public',
      rateLimited: true,
      summary: '评审结果公示（公开、可打印页面）/ The public notice as a printable Chinese page (public)',
      tag: 'calls',
      produces: 'text/html',
    },
    async (req, res) => {
      const notice = await publicNotice(req.params.callId as string);
      res
        .set('Cache-Control', CACHE_CONTROL)
        // The page is static text and inline style: nothing else may load or run in it.
        .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
        .set('X-Content-Type-Options', 'nosniff')
        .type('html')
        .send(publicNoticePage(notice));
    },
  );
}
